//! Lap statistics of a run driven from outside the embedded simulator (the ROS node's
//! odometry): records it against the reference lap, keeps the wall time beside the run's own
//! time base, and writes the same report as `pilotnet-brain sim` (stats.json, trajectory.csv,
//! path.png) once, when the run ends or the node stops.

use std::path::PathBuf;
use std::time::Instant;

use super::{ReportError, RunReport};
use crate::brain::BrainTimings;
use crate::circuit::Circuit;
use crate::metrics::{EndReason, LapRecorder, LapRules};
use crate::sensor::Odometry;
use crate::sim::camera::CameraConfig;
use crate::sim::{Latency, RunOutcome, SimConfig};

/// A live run's lap statistics.
#[derive(Debug)]
pub struct LiveLap {
    circuit: Circuit,
    recorder: LapRecorder,
    laps: u32,
    pilot: String,
    dir: Option<PathBuf>,
    wall: Option<(Instant, Instant)>,
    ended: Option<EndReason>,
    written: bool,
}

impl LiveLap {
    /// Laps of `circuit` by `pilot`; the report goes to `dir` when there is one.
    pub fn new(circuit: Circuit, laps: u32, pilot: &str, dir: Option<PathBuf>) -> Self {
        let recorder = LapRecorder::new(
            circuit.centre.clone(),
            LapRules {
                laps,
                half_road: circuit.road.road_width / 2.0,
                ..LapRules::default()
            },
        );
        LiveLap {
            circuit,
            recorder,
            laps,
            pilot: pilot.to_string(),
            dir,
            wall: None,
            ended: None,
            written: false,
        }
    }

    /// One odometry sample, stamped in the run's time base (simulated time under
    /// `use_sim_time`), received at wall time `wall`. Returns why the run ended, once.
    pub fn record(&mut self, odom: &Odometry, wall: Instant) -> Option<EndReason> {
        if self.ended.is_some() {
            return None;
        }
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

    /// The report as it stands, ended for `end` (the recorded end when there is one).
    pub fn report(&self, end: EndReason, brain: &BrainTimings) -> RunReport {
        let laps = self.recorder.finish(self.ended.unwrap_or(end));
        let wall_seconds = self
            .wall
            .map_or(0.0, |(first, last)| (last - first).as_secs_f64());
        let c = brain.counters;
        let outcome = RunOutcome {
            pilot: self.pilot.clone(),
            real_time_factor: if wall_seconds > 0.0 {
                laps.sim_seconds / wall_seconds
            } else {
                0.0
            },
            timing: brain.step,
            stages: brain.stages,
            frames: c.frames_received,
            frames_dropped: c.frames_dropped,
            safety: c.safety,
            wall_seconds,
            trajectory: Vec::new(),
            laps,
        };
        let config = SimConfig {
            laps: self.laps,
            latency: Latency::Measured,
            camera: CameraConfig {
                rate_hz: if outcome.laps.sim_seconds > 0.0 {
                    c.frames_received as f64 / outcome.laps.sim_seconds
                } else {
                    0.0
                },
                ..CameraConfig::default()
            },
            ..SimConfig::default()
        };
        RunReport::new(&self.circuit, &config, &outcome)
    }

    /// Writes the report once (later calls do nothing and return `None`); returns the folder.
    pub fn write(
        &mut self,
        end: EndReason,
        brain: &BrainTimings,
    ) -> Result<Option<PathBuf>, ReportError> {
        let Some(dir) = self.dir.clone() else {
            return Ok(None);
        };
        if self.written {
            return Ok(None);
        }
        self.written = true;
        self.report(end, brain)
            .write_dir(&dir, &self.circuit, self.recorder.samples())?;
        Ok(Some(dir))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::brain::BrainCounters;
    use crate::circuit::RoadGeometry;
    use crate::geometry::Pose2;
    use std::time::Duration;

    fn brain() -> BrainTimings {
        BrainTimings {
            counters: BrainCounters {
                frames_received: 100,
                ..BrainCounters::default()
            },
            step: crate::metrics::StepTimer::new().stats(),
            stages: None,
        }
    }

    /// Drives the centre line at `speed` m/s, sampled at 20 Hz of run time, with wall time
    /// running at 1 / `rtf` of it; stops after `max_s` seconds of run time.
    fn drive(lap: &mut LiveLap, speed: f64, rtf: f64, max_s: f64) -> Option<EndReason> {
        let centre = lap.circuit.centre.clone();
        let wall0 = Instant::now();
        let mut t = 0.0;
        while t < max_s {
            let s = (speed * t) % centre.length();
            let (p, tangent) = centre.at(s);
            let odom = Odometry {
                stamp: 100.0 + t,
                pose: Pose2 {
                    p,
                    yaw: tangent.y.atan2(tangent.x),
                },
                v: speed,
                w: 0.0,
            };
            if let Some(end) = lap.record(&odom, wall0 + Duration::from_secs_f64(t / rtf)) {
                return Some(end);
            }
            t += 0.05;
        }
        None
    }

    #[test]
    fn a_lap_on_the_line_completes_and_reports_the_real_time_factor() {
        let circuit = Circuit::load("lakeside", RoadGeometry::default(), false).unwrap();
        let length = circuit.length();
        let dir = std::env::temp_dir().join(format!("live-lap-{}", std::process::id()));
        let mut lap = LiveLap::new(circuit, 1, "test", Some(dir.clone()));
        let end = drive(&mut lap, 5.0, 2.0, 2.0 * length / 5.0);
        assert_eq!(end, Some(EndReason::LapCompleted));
        let r = lap.report(EndReason::Shutdown, &brain());
        assert_eq!(
            r.end_reason,
            EndReason::LapCompleted,
            "the recorded end wins"
        );
        let lap_s = r.lap_seconds.unwrap();
        assert!((lap_s - length / 5.0).abs() < 0.2, "lap {lap_s} s");
        assert!(
            (r.real_time_factor - 2.0).abs() < 0.01,
            "{}",
            r.real_time_factor
        );
        assert!(r.position_deviation_mae_m < 0.01);
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
        assert!(dir.join("trajectory.csv").exists() && dir.join("path.png").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_run_stopped_early_reports_shutdown_and_no_folder_writes_nothing() {
        let circuit = Circuit::load("lakeside", RoadGeometry::default(), false).unwrap();
        let mut lap = LiveLap::new(circuit, 1, "test", None);
        assert_eq!(drive(&mut lap, 5.0, 1.0, 10.0), None);
        let r = lap.report(EndReason::Shutdown, &brain());
        assert_eq!(r.end_reason, EndReason::Shutdown);
        assert!(!r.lap_completed);
        assert!(r.percentage_completed > 5.0, "{}", r.percentage_completed);
        assert_eq!(lap.write(EndReason::Shutdown, &brain()).unwrap(), None);
    }
}
