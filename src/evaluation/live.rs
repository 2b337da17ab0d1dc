//! Lap statistics of a run driven from outside the embedded simulator (the ROS node's
//! odometry): records it against the reference lap, keeps the wall time beside the run's own
//! time base, and writes the same record as `pilotnet-brain sim` (stats.json, trajectory.csv,
//! path.png) when the run ends or the node stops, and checkpoints `stats.json` meanwhile. A
//! run can be paused (the brain switched off): the time it stands paused is left out of its
//! lap and wall times. Its world is watched ([`ClockWatch`]): a clock jumping back or the car
//! moved farther than it drives restarts the lap (the world was reset; the attempt cut short
//! is kept in the record), a clock standing still while odometry comes is counted and its
//! wall time kept.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::base::geometry::Vec2;
use crate::base::sensor::Odometry;
use crate::driving::brain::BrainStats;
use crate::evaluation::circuit::Circuit;
use crate::evaluation::laps::{Direction, EndReason, LapRecorder};
use crate::evaluation::live_events::{ClockStep, ClockWatch, LapRestart, RestartCause, MOVED_M};
use crate::evaluation::record::{RunInfo, RunRecord};
use crate::evaluation::report::{self, ReportError};

/// A live run's lap statistics.
#[derive(Debug)]
pub struct LiveLap {
    circuit: Circuit,
    direction: Direction,
    recorder: LapRecorder,
    info: RunInfo,
    dir: Option<PathBuf>,
    wall: Option<(Instant, Instant)>,
    ended: Option<EndReason>,
    written: bool,
    pause: Pause,
    watch: ClockWatch,
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
    /// Laps of `circuit` driven in `direction` (its `laps_requested` from `info`, which says
    /// what runs), counted from where the car is at the first sample; the record goes to
    /// `dir` when there is one.
    pub fn new(
        circuit: Circuit,
        direction: Direction,
        info: RunInfo,
        dir: Option<PathBuf>,
    ) -> Self {
        let recorder = LapRecorder::for_circuit(&circuit, info.laps_requested, direction);
        LiveLap {
            circuit,
            direction,
            recorder,
            info,
            dir,
            wall: None,
            ended: None,
            written: false,
            pause: Pause::default(),
            watch: ClockWatch::default(),
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
        match self.watch.observe(odom.stamp, wall) {
            ClockStep::Normal => {}
            ClockStep::Back(from) => self.restart(RestartCause::ClockBack, from, odom),
            ClockStep::Stalled => tracing::warn!(
                at_s = odom.stamp,
                "the run's clock has stood still for a second while odometry keeps coming; \
                 lap times stand still with it"
            ),
            ClockStep::Resumed(stood) => {
                tracing::info!(stood_s = stood.as_secs_f64(), "the run's clock moves again")
            }
        }
        let moved = self
            .recorder
            .samples()
            .last()
            .is_some_and(|last| odom.pose.p.dist(Vec2::new(last.x, last.y)) > MOVED_M);
        if moved {
            self.restart(RestartCause::Moved, odom.stamp, odom);
        }
        let (odom, wall) = self.pause.adjust(odom, wall);
        let odom = &odom;
        let (first, _) = *self.wall.get_or_insert((wall, wall));
        self.wall = Some((first, wall));
        let end = self.recorder.record(odom)?;
        self.ended = Some(end);
        Some(end)
    }

    /// Starts the lap afresh at `odom`, the world reset (`cause`; the clock last read
    /// `from`), keeping the figures of the attempt cut short. An attempt of one sample is
    /// none: a restarted simulator's first odometry can come before its clock and carry the
    /// old time.
    fn restart(&mut self, cause: RestartCause, from: f64, odom: &Odometry) {
        let cut = self.recorder.finish(EndReason::InProgress);
        let moved_m = self
            .recorder
            .samples()
            .last()
            .map_or(0.0, |last| odom.pose.p.dist(Vec2::new(last.x, last.y)));
        if cut.odometry_samples > 1 {
            tracing::warn!(
                ?cause,
                from_s = from,
                to_s = odom.stamp,
                moved_m,
                completed_pct = cut.percentage_completed,
                "the world was reset (the clock went back or the car was moved); the lap restarts"
            );
            self.watch.restarted(LapRestart {
                cause,
                moved_m,
                clock_from_s: from,
                clock_to_s: odom.stamp,
                percentage_completed: cut.percentage_completed,
                laps_completed: cut.laps_completed,
                sim_seconds: cut.sim_seconds,
                odometry_samples: cut.odometry_samples,
            });
        }
        self.recorder =
            LapRecorder::for_circuit(&self.circuit, self.info.laps_requested, self.direction);
        self.wall = None;
        self.pause = Pause::default();
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
        let mut record = RunRecord::new(self.info.clone(), laps, *brain, wall_seconds);
        record.events = Some(self.watch.events());
        record
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

    /// Writes the record once (later calls do nothing and return `None`; after a failed
    /// write, the next call tries again); returns the folder.
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
        let record = self.run_record(end, brain);
        // A failed write (a full disk) leaves the record to the next checkpoint or write.
        report::write_dir(&dir, &record, &self.circuit, self.recorder.samples())?;
        self.written = true;
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
        LiveLap::new(circuit, Direction::Auto, info, dir)
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

    /// Drives half a lap of the centre line at 5 m/s, sampled at 20 Hz, stamps from 100 s,
    /// wall time from `wall0`: the run time driven, the samples and the last stamp.
    fn half_lap(lap: &mut LiveLap, wall0: Instant) -> (f64, usize, f64) {
        let centre = lap.circuit.centre.clone();
        let half = 0.5 * centre.length() / 5.0;
        let (mut t, mut samples, mut last) = (0.0, 0, 0.0);
        while t < half {
            let odom = on_line(&centre, 5.0 * t, 100.0 + t, 5.0);
            assert_eq!(lap.record(&odom, wall0 + Duration::from_secs_f64(t)), None);
            (t, samples, last) = (t + 0.05, samples + 1, odom.stamp);
        }
        (t, samples, last)
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
            (r.real_time_factor.unwrap() - 2.0).abs() < 0.01,
            "{:?}",
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
            (r.real_time_factor.unwrap() - 1.0).abs() < 0.01,
            "{:?}",
            r.real_time_factor
        );
    }

    #[test]
    fn a_clock_jumping_back_restarts_the_lap_and_keeps_the_attempt_cut_short() {
        let mut lap = live(None);
        let centre = lap.circuit.centre.clone();
        let (length, speed, wall0) = (centre.length(), 5.0, Instant::now());
        // Half a lap from stamp 100 s; then the simulator restarts: the car back on the
        // start line, the clock from 0.
        let half = 0.5 * length / speed;
        let (t, before, _) = half_lap(&mut lap, wall0);
        let restart_wall = t + 2.0;
        let (mut t, mut ended) = (0.0, None);
        while t < 2.0 * length / speed && ended.is_none() {
            let odom = on_line(&centre, speed * t, t, speed);
            ended = lap.record(&odom, wall0 + Duration::from_secs_f64(restart_wall + t));
            t += 0.05;
        }
        assert_eq!(ended, Some(EndReason::LapCompleted));
        let r = lap.run_record(EndReason::Shutdown, &brain());
        let lap_s = r.laps.lap_seconds.unwrap();
        assert!((lap_s - length / speed).abs() < 0.2, "lap {lap_s} s");
        // Wall and run time span the attempt after the restart only.
        assert!(
            (r.real_time_factor.unwrap() - 1.0).abs() < 0.01,
            "{:?}",
            r.real_time_factor
        );
        let clock = r.events.clone().unwrap();
        assert_eq!(clock.clock_jumps_back, 1);
        let cut = &clock.lap_restarts[0];
        assert_eq!(cut.cause, RestartCause::ClockBack);
        assert!((cut.clock_from_s - (100.0 + half)).abs() < 0.06, "{cut:?}");
        assert_eq!(cut.clock_to_s, 0.0);
        assert!((cut.percentage_completed - 50.0).abs() < 1.0, "{cut:?}");
        assert!((cut.sim_seconds - half).abs() < 0.06, "{cut:?}");
        assert_eq!(cut.laps_completed, 0);
        assert_eq!(cut.odometry_samples, before);
        // The record says it in stats.json, and reads back.
        let json: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(json["clock_jumps_back"], 1);
        assert_eq!(json["lap_restarts"].as_array().unwrap().len(), 1);
        let back: RunRecord = serde_json::from_value(json).unwrap();
        assert_eq!(back.events, r.events);
    }

    #[test]
    fn a_clock_standing_still_is_counted_and_the_lap_goes_on() {
        let mut lap = live(None);
        let centre = lap.circuit.centre.clone();
        let wall0 = Instant::now();
        // 10 s driven; the clock stands at 103 s from 3 s to 6 s of wall time.
        let mut samples = 0;
        for i in 0..200 {
            let w = f64::from(i) * 0.05;
            let stamp = 100.0
                + if w < 3.0 {
                    w
                } else if w < 6.0 {
                    3.0
                } else {
                    w - 3.0
                };
            let odom = on_line(&centre, 5.0 * w, stamp, 5.0);
            assert_eq!(lap.record(&odom, wall0 + Duration::from_secs_f64(w)), None);
            samples += 1;
        }
        let r = lap.run_record(EndReason::Shutdown, &brain());
        let clock = r.events.unwrap();
        assert_eq!((clock.clock_stalls, clock.clock_jumps_back), (1, 0));
        assert!(
            (clock.clock_stalled_wall_s - 2.95).abs() < 0.06,
            "{clock:?}"
        );
        assert_eq!(r.laps.odometry_samples, samples, "no sample is lost");
        assert!(
            (r.laps.sim_seconds - 6.95).abs() < 0.06,
            "{}",
            r.laps.sim_seconds
        );
    }

    #[test]
    fn a_final_write_that_fails_is_tried_again() {
        let tmp = tempfile::tempdir().unwrap();
        // The folder's parent is a file: no write can make it.
        let blocker = tmp.path().join("full");
        std::fs::write(&blocker, "").unwrap();
        let mut lap = live(Some(blocker.join("stats")));
        assert_eq!(drive(&mut lap, 5.0, 1.0, 5.0), None);
        assert!(lap.checkpoint(&brain()).is_err());
        assert!(lap.write(EndReason::Shutdown, &brain()).is_err());
        std::fs::remove_file(&blocker).unwrap();
        assert_eq!(
            lap.write(EndReason::Shutdown, &brain()).unwrap(),
            Some(blocker.join("stats"))
        );
        let json = std::fs::read_to_string(blocker.join("stats/stats.json")).unwrap();
        assert!(json.contains("\"shutdown\""), "{json}");
    }

    #[test]
    fn a_car_moved_back_to_the_start_restarts_the_lap_once_with_a_stale_clock() {
        let mut lap = live(None);
        let centre = lap.circuit.centre.clone();
        let (length, speed, wall0) = (centre.length(), 5.0, Instant::now());
        let (t, _, last) = half_lap(&mut lap, wall0);
        // A restarted simulator: its first odometry, on the start line, still carries the
        // old time; then its clock comes, from 0.
        let stale = on_line(&centre, 0.0, last, 0.0);
        assert_eq!(
            lap.record(&stale, wall0 + Duration::from_secs_f64(t + 3.0)),
            None
        );
        let (mut t2, mut ended) = (0.0, None);
        while t2 < 2.0 * length / speed && ended.is_none() {
            let odom = on_line(&centre, speed * t2, 0.01 + t2, speed);
            ended = lap.record(&odom, wall0 + Duration::from_secs_f64(t + 3.1 + t2));
            t2 += 0.05;
        }
        assert_eq!(ended, Some(EndReason::LapCompleted));
        let r = lap.run_record(EndReason::Shutdown, &brain());
        let events = r.events.unwrap();
        assert_eq!(events.clock_jumps_back, 1);
        assert_eq!(events.lap_restarts.len(), 1, "{events:?}");
        let cut = &events.lap_restarts[0];
        assert_eq!(cut.cause, RestartCause::Moved);
        assert!((cut.moved_m - length / 2.0).abs() < 0.5 * length, "{cut:?}");
        assert!((cut.percentage_completed - 50.0).abs() < 1.0, "{cut:?}");
        assert!((r.laps.lap_seconds.unwrap() - length / speed).abs() < 0.2);
    }
}
