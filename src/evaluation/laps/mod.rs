//! Lap statistics in the style of JdeRobot's Behavior Metrics, recorded from odometry against
//! a reference line.
//!
//! [`LapRecorder`] is fed odometry samples as they arrive (20 Hz in the simulator, whatever the
//! robot publishes on ROS), tracks progress along the reference, decides when the run is over
//! (lap completed, stuck, left the road) and at the end computes [`LapStats`].

mod behavior_metrics;
mod minimize;
mod spline;

use serde::{Deserialize, Serialize};

pub use behavior_metrics::{
    percentage_completed, position_deviation, position_deviation_by_lap, BmScores, Deviation,
    LapDeviations,
};

use crate::base::geometry::{ClosedPolyline, Vec2};
use crate::base::sensor::Odometry;
use crate::evaluation::circuit::Circuit;

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The requested number of laps was completed.
    LapCompleted,
    /// The time limit passed first.
    Timeout,
    /// The car moved less than the stuck distance within the stuck window.
    Stuck,
    /// The car's reference point left the road.
    LeftRoad,
    /// Stopped from outside (SIGINT/SIGTERM to the ROS node) before any of the above.
    Shutdown,
    /// A recording ended before any of the above.
    EndOfRecording,
    /// The run had not ended when this record was written: a live run's periodic checkpoint.
    InProgress,
}

impl EndReason {
    /// The name used in JSON and tables.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::LapCompleted => "lap_completed",
            EndReason::Timeout => "timeout",
            EndReason::Stuck => "stuck",
            EndReason::LeftRoad => "left_road",
            EndReason::Shutdown => "shutdown",
            EndReason::EndOfRecording => "end_of_recording",
            EndReason::InProgress => "in_progress",
        }
    }
}

/// When a run counts as over.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LapRules {
    /// Laps to drive.
    pub laps: u32,
    /// Half the road width: farther from the reference than this is off the road, metres.
    pub half_road: f64,
    /// Window of the stuck test, seconds.
    pub stuck_window_s: f64,
    /// Distance that must be covered within the window, metres.
    pub stuck_distance_m: f64,
    /// Spacing of the reference checkpoints, metres.
    pub checkpoint_spacing_m: f64,
}

impl Default for LapRules {
    fn default() -> Self {
        Self {
            laps: 1,
            half_road: 3.0,
            stuck_window_s: 10.0,
            stuck_distance_m: 0.5,
            checkpoint_spacing_m: 1.0,
        }
    }
}

/// One recorded odometry sample with where it lies relative to the reference.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Time, seconds.
    pub t: f64,
    /// Position x, metres.
    pub x: f64,
    /// Position y, metres.
    pub y: f64,
    /// Heading, radians.
    pub yaw: f64,
    /// Forward speed, m/s.
    pub v: f64,
    /// Yaw rate, rad/s.
    pub w: f64,
    /// Distance along the reference since the start (grows over laps), metres.
    pub progress_m: f64,
    /// Signed distance to the reference (positive: left of it), metres.
    pub lateral_m: f64,
}

/// Statistics of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LapStats {
    /// At least one lap was completed.
    pub lap_completed: bool,
    /// Laps completed.
    pub laps_completed: u32,
    /// Duration of each completed lap, seconds.
    pub lap_times_s: Vec<f64>,
    /// Mean duration of the completed laps, seconds (`None` when no lap was completed).
    pub lap_seconds: Option<f64>,
    /// This project's completion: reference checkpoints (every metre of the line) reached in
    /// order, as a percentage of one lap (200 = two laps).
    pub percentage_completed: f64,
    /// Path length driven (sum of distances between odometry samples), metres.
    pub completed_distance_m: f64,
    /// Completed distance / simulated time, m/s.
    pub average_speed_mps: f64,
    /// This project's deviation: mean distance of the odometry samples to the reference
    /// line, metres.
    pub position_deviation_mae_m: f64,
    /// Largest distance of an odometry sample to the reference line, metres.
    pub position_deviation_max_m: f64,
    /// Behavior Metrics' own scores of the same positions, on the raw reference points.
    #[serde(flatten)]
    pub bm: BmScores,
    /// Simulated (or ROS) time from the first to the last sample, seconds.
    pub sim_seconds: f64,
    /// Why the run ended.
    pub end_reason: EndReason,
    /// Odometry samples recorded.
    pub odometry_samples: usize,
}

/// Records a run's odometry and turns it into [`LapStats`].
#[derive(Debug, Clone)]
pub struct LapRecorder {
    reference: ClosedPolyline,
    reference_points: Vec<Vec2>,
    rules: LapRules,
    samples: Vec<Sample>,
    hint: usize,
    window: usize,
    distance: f64,
    cumulative: Vec<f64>,
    stuck_from: usize,
    best_progress: f64,
    lap_ends: Vec<f64>,
    lap_end_samples: Vec<usize>,
    /// Behavior Metrics' deviations of the laps completed, scored as each ends.
    lap_deviations: LapDeviations,
    t0: Option<f64>,
}

impl LapRecorder {
    /// A recorder for laps of `reference` (in driving order, starting at the start line);
    /// `reference_points` are the raw points it was made from (in driving order), which
    /// Behavior Metrics' scores are measured against.
    pub fn new(reference: ClosedPolyline, reference_points: Vec<Vec2>, rules: LapRules) -> Self {
        // Track within ±25 m of the last match: far more than a car covers between samples,
        // far less than the gap to another part of any sane circuit along the line.
        let spacing = reference.length() / reference.len() as f64;
        let window = (25.0 / spacing).ceil() as usize;
        Self {
            reference,
            reference_points,
            rules,
            samples: Vec::new(),
            hint: 0,
            window,
            distance: 0.0,
            cumulative: Vec::new(),
            stuck_from: 0,
            best_progress: 0.0,
            lap_ends: Vec::new(),
            lap_end_samples: Vec::new(),
            lap_deviations: LapDeviations::default(),
            t0: None,
        }
    }

    /// A recorder for `laps` laps of `circuit`: its centre line, its raw points, its road.
    pub fn for_circuit(circuit: &Circuit, laps: u32) -> Self {
        Self::new(
            circuit.centre.clone(),
            circuit.reference_points.clone(),
            LapRules {
                laps,
                half_road: circuit.road.road_width / 2.0,
                ..LapRules::default()
            },
        )
    }

    /// The reference line.
    pub fn reference(&self) -> &ClosedPolyline {
        &self.reference
    }

    /// Samples so far.
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// Laps completed so far.
    pub fn laps_completed(&self) -> u32 {
        self.lap_ends.len() as u32
    }

    /// Records an odometry sample; returns why the run is over, if it is.
    pub fn record(&mut self, odom: &Odometry) -> Option<EndReason> {
        let p = odom.pose.p;
        let proj = if self.samples.is_empty() {
            self.reference.project(p)
        } else {
            self.reference.project_near(p, self.hint, self.window)
        };
        self.hint = proj.segment;
        let length = self.reference.length();
        let progress = match self.samples.last() {
            None => {
                self.t0 = Some(odom.stamp);
                // Starting just behind the line counts as a little negative progress.
                if proj.s > length / 2.0 {
                    proj.s - length
                } else {
                    proj.s
                }
            }
            Some(prev) => {
                self.distance += p.dist(Vec2::new(prev.x, prev.y));
                let prev_s = prev.progress_m.rem_euclid(length);
                let mut ds = proj.s - prev_s;
                if ds > length / 2.0 {
                    ds -= length;
                } else if ds < -length / 2.0 {
                    ds += length;
                }
                prev.progress_m + ds
            }
        };
        let on_road = proj.distance <= self.rules.half_road;
        if on_road {
            self.best_progress = self.best_progress.max(progress);
        }
        // A lap ends where progress crosses the next multiple of the lap length.
        let next_lap = (self.lap_ends.len() + 1) as f64 * length;
        if on_road && progress >= next_lap {
            let t = match self.samples.last() {
                Some(prev) if progress > prev.progress_m => {
                    let frac = (next_lap - prev.progress_m) / (progress - prev.progress_m);
                    prev.t + frac.clamp(0.0, 1.0) * (odom.stamp - prev.t)
                }
                _ => odom.stamp,
            };
            self.lap_ends.push(t);
            self.lap_end_samples.push(self.samples.len());
        }
        self.samples.push(Sample {
            t: odom.stamp,
            x: p.x,
            y: p.y,
            yaw: odom.pose.yaw,
            v: odom.v,
            w: odom.w,
            progress_m: progress,
            lateral_m: proj.lateral,
        });
        self.cumulative.push(self.distance);
        if self.lap_end_samples.last() == Some(&(self.samples.len() - 1)) {
            let path = self.path();
            self.lap_deviations
                .update(&self.reference_points, &path, &self.lap_end_samples);
        }

        if !on_road {
            return Some(EndReason::LeftRoad);
        }
        if self.lap_ends.len() as u32 >= self.rules.laps {
            return Some(EndReason::LapCompleted);
        }
        // Stuck: too little distance covered over the last window.
        let now = odom.stamp;
        while self.stuck_from + 1 < self.samples.len()
            && self.samples[self.stuck_from + 1].t <= now - self.rules.stuck_window_s
        {
            self.stuck_from += 1;
        }
        let start = &self.samples[self.stuck_from];
        if now - start.t >= self.rules.stuck_window_s
            && self.distance - self.cumulative[self.stuck_from] < self.rules.stuck_distance_m
        {
            return Some(EndReason::Stuck);
        }
        None
    }

    /// The positions recorded.
    fn path(&self) -> Vec<Vec2> {
        self.samples.iter().map(|s| Vec2::new(s.x, s.y)).collect()
    }

    /// The statistics of the run, which ended for `reason`.
    pub fn finish(&self, reason: EndReason) -> LapStats {
        let t0 = self.t0.unwrap_or(0.0);
        let t_end = self.samples.last().map_or(t0, |s| s.t);
        let sim_seconds = t_end - t0;
        let mut lap_times = Vec::with_capacity(self.lap_ends.len());
        let mut start = t0;
        for &end in &self.lap_ends {
            lap_times.push(end - start);
            start = end;
        }
        let lap_seconds =
            (!lap_times.is_empty()).then(|| lap_times.iter().sum::<f64>() / lap_times.len() as f64);
        let checkpoints = (self.reference.length() / self.rules.checkpoint_spacing_m)
            .floor()
            .max(1.0);
        let spacing = self.reference.length() / checkpoints;
        let reached = (self.best_progress.max(0.0) / spacing).floor();
        let n = self.samples.len();
        let abs_lat = self.samples.iter().map(|s| s.lateral_m.abs());
        let mae = if n > 0 {
            abs_lat.clone().sum::<f64>() / n as f64
        } else {
            0.0
        };
        let path = self.path();
        let times: Vec<f64> = self.samples.iter().map(|s| s.t).collect();
        LapStats {
            lap_completed: !self.lap_ends.is_empty(),
            laps_completed: self.lap_ends.len() as u32,
            lap_times_s: lap_times,
            lap_seconds,
            percentage_completed: 100.0 * reached / checkpoints,
            completed_distance_m: self.distance,
            average_speed_mps: if sim_seconds > 0.0 {
                self.distance / sim_seconds
            } else {
                0.0
            },
            position_deviation_mae_m: mae,
            position_deviation_max_m: abs_lat.fold(0.0, f64::max),
            bm: BmScores::of_scored(
                &self.reference_points,
                &path,
                &times,
                &self.lap_end_samples,
                &self.lap_deviations,
            ),
            sim_seconds,
            end_reason: reason,
            odometry_samples: n,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::geometry::Pose2;
    use std::f64::consts::TAU;

    fn circle_points(r: f64) -> Vec<Vec2> {
        (0..3000)
            .map(|i| {
                let a = TAU * i as f64 / 3000.0;
                Vec2::new(r * a.cos(), r * a.sin())
            })
            .collect()
    }

    fn recorder(r: f64, rules: LapRules) -> LapRecorder {
        LapRecorder::new(
            ClosedPolyline::new(circle_points(r)),
            circle_points(r),
            rules,
        )
    }

    /// Drives around a circle of radius `r` at `v` m/s for `t_end` seconds, 20 Hz samples.
    fn drive_circle(rec: &mut LapRecorder, r: f64, v: f64, t_end: f64) -> Option<EndReason> {
        let mut t = 0.0;
        while t <= t_end + 1e-9 {
            let a = v * t / r;
            let odom = Odometry {
                stamp: t,
                pose: Pose2 {
                    p: Vec2::new(r * a.cos(), r * a.sin()),
                    yaw: a + TAU / 4.0,
                },
                v,
                w: v / r,
            };
            if let Some(end) = rec.record(&odom) {
                return Some(end);
            }
            t += 0.05;
        }
        None
    }

    #[test]
    fn path_offset_by_half_a_metre_has_mae_half_a_metre() {
        let mut rec = recorder(20.0, LapRules::default());
        // A circle of radius 20.5 driven for half a lap.
        let end = drive_circle(&mut rec, 20.5, 5.0, TAU * 20.5 / 2.0 / 5.0);
        assert_eq!(end, None);
        let stats = rec.finish(EndReason::Timeout);
        assert!(
            (stats.position_deviation_mae_m - 0.5).abs() < 1e-3,
            "mae {}",
            stats.position_deviation_mae_m
        );
        assert!((stats.position_deviation_max_m - 0.5).abs() < 1e-3);
        // Behavior Metrics' formula: every reference point is 0.5 m from the path: 1000^0.5.
        let bm = stats.bm.position_deviation_bm.unwrap();
        assert!((bm - 1000f64.powf(0.5)).abs() < 0.2, "bm {bm}");
        // Half a lap of the reference (the 0.5 m offset path is 2.5 % longer).
        assert!((stats.percentage_completed - 50.0).abs() < 1.5);
        assert!((stats.average_speed_mps - 5.0).abs() < 0.01);
        assert!(!stats.lap_completed && stats.lap_seconds.is_none());
    }

    #[test]
    fn laps_scored_as_they_end_give_the_scores_of_the_whole_path() {
        let rules = LapRules {
            laps: 10,
            ..LapRules::default()
        };
        let mut rec = recorder(20.5, rules);
        // Three and a half laps of a circle half a metre off the reference.
        let lap_s = TAU * 20.5 / 5.0;
        assert_eq!(drive_circle(&mut rec, 20.0, 5.0, 3.5 * lap_s), None);
        assert_eq!(rec.laps_completed(), 3);
        let path = rec.path();
        let times: Vec<f64> = rec.samples.iter().map(|s| s.t).collect();
        let whole = BmScores::of(&rec.reference_points, &path, &times, &rec.lap_end_samples);
        assert_eq!(rec.finish(EndReason::Timeout).bm, whole);
        assert!(whole.position_deviation_bm.is_some());
    }

    #[test]
    fn completes_laps_with_interpolated_times() {
        let rules = LapRules {
            laps: 2,
            ..LapRules::default()
        };
        let mut rec = recorder(10.0, rules);
        let end = drive_circle(&mut rec, 10.0, 4.0, 100.0);
        assert_eq!(end, Some(EndReason::LapCompleted));
        let stats = rec.finish(end.unwrap());
        assert_eq!(stats.laps_completed, 2);
        let lap = TAU * 10.0 / 4.0;
        for t in &stats.lap_times_s {
            assert!((t - lap).abs() < 0.01, "lap time {t}, expected {lap}");
        }
        assert!((stats.lap_seconds.unwrap() - lap).abs() < 0.01);
        assert!((stats.percentage_completed - 200.0).abs() < 0.5);
        assert!(stats.position_deviation_mae_m < 0.01);
        // Driving exactly on the line: every reference point scores 1000^0 = 1.
        assert!((stats.bm.position_deviation_bm.unwrap() - 1.0).abs() < 0.05);
        // Behavior Metrics' completion counts reference points within 5 m of the car: two
        // laps plus the 5 m ahead of where it stopped (8 % of this 63 m lap), and its lap
        // ends when the point 5 m behind the start line is reached, 1.25 s early at 4 m/s.
        let bm_pct = stats.bm.percentage_completed_bm;
        let ahead = 100.0 * 5.0 / (TAU * 10.0);
        assert!(
            (bm_pct - (200.0 + ahead)).abs() < 0.5,
            "bm percentage {bm_pct}"
        );
        let bm_lap = stats.bm.lap_seconds_bm.unwrap();
        assert!(
            (bm_lap - (lap - 5.0 / 4.0)).abs() < 0.1,
            "bm lap {bm_lap}, lap {lap}"
        );
    }

    #[test]
    fn standing_still_is_stuck_after_the_window() {
        let mut rec = recorder(10.0, LapRules::default());
        let end = drive_circle(&mut rec, 10.0, 0.0, 30.0);
        assert_eq!(end, Some(EndReason::Stuck));
        let t = rec.samples().last().unwrap().t;
        assert!((t - 10.0).abs() < 0.06, "stuck declared at {t}");
    }

    #[test]
    fn leaving_the_road_ends_the_run() {
        let mut rec = recorder(10.0, LapRules::default());
        // Radius 13.5: 3.5 m outside the line, beyond the 3 m half road.
        assert_eq!(
            drive_circle(&mut rec, 13.5, 4.0, 10.0),
            Some(EndReason::LeftRoad)
        );
    }
}
