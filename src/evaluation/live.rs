//! Lap statistics of a run driven from outside the embedded simulator (the ROS node's
//! odometry): records it against the reference lap, keeps the wall time beside the run's own
//! time base, and writes the same record as `pilotnet-brain sim` (stats.json, trajectory.csv,
//! path.png) when the run ends or the node stops, and checkpoints `stats.json` meanwhile. A
//! run can be paused (the brain switched off): the time it stands paused is left out of its
//! lap and wall times.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::base::sensor::Odometry;
use crate::driving::brain::BrainStats;
use crate::evaluation::circuit::Circuit;
use crate::evaluation::laps::{EndReason, LapRecorder};
use crate::evaluation::record::{RunInfo, RunRecord};
use crate::evaluation::report::{self, ReportError};

/// A live run's lap statistics.
#[derive(Debug)]
pub struct LiveLap {
    circuit: Circuit,
    recorder: LapRecorder,
    info: RunInfo,
    dir: Option<PathBuf>,
    wall: Option<(Instant, Instant)>,
    ended: Option<EndReason>,
    written: bool,
    pause: Pause,
}

/// The paused spans, taken out of the run's times.
#[derive(Debug, Default)]
struct Pause {
    paused: bool,
    /// The first sample after a pause closes the gap.
    resumed: bool,
    /// Run time and wall time taken out so far.
    offset: (f64, Duration),
    /// The last sample recorded, raw: its stamp, its wall time, and the interval before it.
    last: Option<(f64, Instant, f64, Duration)>,
}

impl Pause {
    /// `odom` and `wall` with the paused spans taken out: a gap after a pause counts as one
    /// sample interval.
    fn adjust(&mut self, odom: &Odometry, wall: Instant) -> (Odometry, Instant) {
        if std::mem::take(&mut self.resumed) {
            if let Some((stamp, at, dt, dwall)) = self.last {
                self.offset.0 += (odom.stamp - stamp - dt).max(0.0);
                self.offset.1 += wall.saturating_duration_since(at).saturating_sub(dwall);
            }
        }
        let (dt, dwall) = self.last.map_or((0.0, Duration::ZERO), |(stamp, at, ..)| {
            (odom.stamp - stamp, wall.saturating_duration_since(at))
        });
        self.last = Some((odom.stamp, wall, dt, dwall));
        let mut adjusted = *odom;
        adjusted.stamp -= self.offset.0;
        (adjusted, wall.checked_sub(self.offset.1).unwrap_or(wall))
    }
}

impl LiveLap {
    /// Laps of `circuit` (its `laps_requested` from `info`, which says what runs); the record
    /// goes to `dir` when there is one.
    pub fn new(circuit: Circuit, info: RunInfo, dir: Option<PathBuf>) -> Self {
        let recorder = LapRecorder::for_circuit(&circuit, info.laps_requested);
        LiveLap {
            circuit,
            recorder,
            info,
            dir,
            wall: None,
            ended: None,
            written: false,
            pause: Pause::default(),
        }
    }

    /// Pauses the run (samples are ignored) or resumes it; the paused time is left out.
    pub fn set_paused(&mut self, paused: bool) {
        if self.pause.paused && !paused {
            self.pause.resumed = true;
        }
        self.pause.paused = paused;
    }

    /// One odometry sample, stamped in the run's time base (simulated time under
    /// `use_sim_time`), received at wall time `wall`. Returns why the run ended, once.
    pub fn record(&mut self, odom: &Odometry, wall: Instant) -> Option<EndReason> {
        if self.ended.is_some() || self.pause.paused {
            return None;
        }
        let (odom, wall) = self.pause.adjust(odom, wall);
        let odom = &odom;
        let (first, _) = *self.wall.get_or_insert((wall, wall));
        self.wall = Some((first, wall));
        let end = self.recorder.record(odom)?;
        self.ended = Some(end);
        Some(end)
    }

    /// Why the run ended, if it has.
    pub fn ended(&self) -> Option<EndReason> {
        self.ended
    }

    /// The record as it stands, ended for `end` (the recorded end when there is one), with
    /// the brain's counters and timings `brain`. Its wall time spans the same odometry samples
    /// as its `sim_seconds`.
    pub fn run_record(&self, end: EndReason, brain: &BrainStats) -> RunRecord {
        let laps = self.recorder.finish(self.ended.unwrap_or(end));
        let wall_seconds = self
            .wall
            .map_or(0.0, |(first, last)| (last - first).as_secs_f64());
        RunRecord::new(self.info.clone(), laps, *brain, wall_seconds)
    }

    /// Writes the record as it stands (`stats.json` and `bm_stats.json`, end reason
    /// `in_progress`), atomically, so a process killed later leaves the last checkpoint on
    /// disk. Does nothing once the final record is written or without a folder.
    pub fn checkpoint(&self, brain: &BrainStats) -> Result<(), ReportError> {
        let Some(dir) = self.dir.clone() else {
            return Ok(());
        };
        if self.written {
            return Ok(());
        }
        let record = self.run_record(EndReason::InProgress, brain);
        std::fs::create_dir_all(&dir).map_err(|source| ReportError::Io {
            path: dir.clone(),
            source,
        })?;
        report::write_records(&dir, &record, &self.circuit)
    }

    /// Writes the record once (later calls do nothing and return `None`); returns the folder.
    pub fn write(
        &mut self,
        end: EndReason,
        brain: &BrainStats,
    ) -> Result<Option<PathBuf>, ReportError> {
        let Some(dir) = self.dir.clone() else {
            return Ok(None);
        };
        if self.written {
            return Ok(None);
        }
        self.written = true;
        let record = self.run_record(end, brain);
        report::write_dir(&dir, &record, &self.circuit, self.recorder.samples())?;
        Ok(Some(dir))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::geometry::Pose2;
    use crate::base::timing::StepTimer;
    use crate::driving::brain::BrainCounters;
    use crate::driving::pilot::{ExpertConfig, ExpertPilot};
    use crate::evaluation::circuit::RoadGeometry;
    use crate::evaluation::record::{Producer, TimeSource, REAL_TIME};
    use std::time::Duration;

    fn brain() -> BrainStats {
        let counters = BrainCounters {
            frames_received: 100,
            ..BrainCounters::default()
        };
        BrainStats::new(counters, &StepTimer::new().stats(), None)
    }

    fn live(dir: Option<PathBuf>) -> LiveLap {
        let circuit = Circuit::load("lakeside", RoadGeometry::default(), false).unwrap();
        let pilot = ExpertPilot::new(Default::default(), ExpertConfig::default());
        let info = RunInfo::new(
            Producer::RosNode,
            &circuit,
            &pilot,
            1,
            None,
            REAL_TIME.into(),
            TimeSource::RosSimTime,
        );
        LiveLap::new(circuit, info, dir)
    }

    /// A sample on the centre line `s` metres along (wrapping), heading along it.
    fn on_line(
        centre: &crate::base::geometry::ClosedPolyline,
        s: f64,
        stamp: f64,
        v: f64,
    ) -> Odometry {
        let (p, tangent) = centre.at(s % centre.length());
        Odometry {
            stamp,
            pose: Pose2 {
                p,
                yaw: tangent.y.atan2(tangent.x),
            },
            v,
            w: 0.0,
        }
    }

    /// Drives the centre line at `speed` m/s, sampled at 20 Hz of run time, with wall time
    /// running at 1 / `rtf` of it; stops after `max_s` seconds of run time.
    fn drive(lap: &mut LiveLap, speed: f64, rtf: f64, max_s: f64) -> Option<EndReason> {
        let centre = lap.circuit.centre.clone();
        let wall0 = Instant::now();
        let mut t = 0.0;
        while t < max_s {
            let odom = on_line(&centre, speed * t, 100.0 + t, speed);
            if let Some(end) = lap.record(&odom, wall0 + Duration::from_secs_f64(t / rtf)) {
                return Some(end);
            }
            t += 0.05;
        }
        None
    }

    #[test]
    fn a_lap_on_the_line_completes_and_reports_the_real_time_factor() {
        let dir = std::env::temp_dir().join(format!("live-lap-{}", std::process::id()));
        let mut lap = live(Some(dir.clone()));
        let length = lap.circuit.length();
        let end = drive(&mut lap, 5.0, 2.0, 2.0 * length / 5.0);
        assert_eq!(end, Some(EndReason::LapCompleted));
        let r = lap.run_record(EndReason::Shutdown, &brain());
        assert_eq!(
            r.laps.end_reason,
            EndReason::LapCompleted,
            "the recorded end wins"
        );
        let lap_s = r.laps.lap_seconds.unwrap();
        assert!((lap_s - length / 5.0).abs() < 0.2, "lap {lap_s} s");
        assert!(
            (r.real_time_factor - 2.0).abs() < 0.01,
            "{}",
            r.real_time_factor
        );
        assert!(r.laps.position_deviation_mae_m < 0.01);
        // What ran is what the producer stated, not guessed from the frames.
        assert_eq!(r.run.camera_hz, None);
        assert_eq!(r.run.latency, "real_time");
        assert_eq!(r.brain.unwrap().counters.frames_received, 100);
        assert_eq!(
            lap.write(EndReason::Shutdown, &brain()).unwrap(),
            Some(dir.clone())
        );
        assert_eq!(
            lap.write(EndReason::Shutdown, &brain()).unwrap(),
            None,
            "once"
        );
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("stats.json")).unwrap())
                .unwrap();
        assert_eq!(json["end_reason"], "lap_completed");
        assert_eq!(json["producer"], "ros_node");
        assert_eq!(json["time_source"], "ros_sim_time");
        // The file reads back as the record it was written from.
        let back: RunRecord = serde_json::from_value(json).unwrap();
        assert_eq!(back.laps.laps_completed, 1);
        assert!(dir.join("trajectory.csv").exists() && dir.join("path.png").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn checkpoints_are_whole_records_in_progress_until_the_final_one() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("stats");
        let mut lap = live(Some(dir.clone()));
        let read = || -> RunRecord {
            serde_json::from_str(&std::fs::read_to_string(dir.join("stats.json")).unwrap()).unwrap()
        };
        assert_eq!(drive(&mut lap, 5.0, 1.0, 10.0), None);
        lap.checkpoint(&brain()).unwrap();
        let first = read();
        assert_eq!(first.laps.end_reason, EndReason::InProgress);
        assert!(dir.join("bm_stats.json").exists());
        // Only whole files: no hidden file is left beside them.
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
        // Ten seconds more of the same drive.
        let (centre, wall0) = (lap.circuit.centre.clone(), Instant::now());
        for i in 200..400 {
            let t = f64::from(i) * 0.05;
            let odom = on_line(&centre, 5.0 * t, 100.0 + t, 5.0);
            assert_eq!(lap.record(&odom, wall0 + Duration::from_secs_f64(t)), None);
        }
        lap.checkpoint(&brain()).unwrap();
        assert!(read().laps.percentage_completed > first.laps.percentage_completed);
        lap.write(EndReason::Shutdown, &brain()).unwrap();
        lap.checkpoint(&brain()).unwrap();
        assert_eq!(
            read().laps.end_reason,
            EndReason::Shutdown,
            "the final record stays"
        );
    }

    #[test]
    fn a_run_stopped_early_reports_shutdown_and_no_folder_writes_nothing() {
        let mut lap = live(None);
        assert_eq!(drive(&mut lap, 5.0, 1.0, 10.0), None);
        let r = lap.run_record(EndReason::Shutdown, &brain());
        assert_eq!(r.laps.end_reason, EndReason::Shutdown);
        assert!(!r.laps.lap_completed);
        assert!(
            r.laps.percentage_completed > 5.0,
            "{}",
            r.laps.percentage_completed
        );
        assert_eq!(lap.write(EndReason::Shutdown, &brain()).unwrap(), None);
    }

    #[test]
    fn a_paused_span_is_left_out_of_the_lap_and_wall_times() {
        let mut lap = live(None);
        let centre = lap.circuit.centre.clone();
        let length = centre.length();
        let wall0 = Instant::now();
        let (speed, mut t, mut ended) = (5.0, 0.0, None);
        // Half a lap, 30 s standing still while paused, then the rest.
        while t < 2.0 * length / speed && ended.is_none() {
            let driven = if t < 0.5 * length / speed {
                t
            } else {
                (t - 30.0).max(0.5 * length / speed)
            };
            let odom = on_line(&centre, speed * driven, 100.0 + t, speed);
            let paused = t >= 0.5 * length / speed && t < 0.5 * length / speed + 30.0;
            lap.set_paused(paused);
            ended = lap.record(&odom, wall0 + Duration::from_secs_f64(t));
            t += 0.05;
        }
        assert_eq!(ended, Some(EndReason::LapCompleted));
        let r = lap.run_record(EndReason::Shutdown, &brain());
        let lap_s = r.laps.lap_seconds.unwrap();
        assert!(
            (lap_s - length / speed).abs() < 0.2,
            "lap {lap_s} s for {} s driven",
            length / speed
        );
        assert!(
            (r.real_time_factor - 1.0).abs() < 0.01,
            "{}",
            r.real_time_factor
        );
    }
}
