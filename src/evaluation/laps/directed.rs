//! Laps of a reference driven one way round, counted from wherever the car started: the
//! progress along the line since the first sample, the laps it closes, the end of the run.
//!
//! [`super::LapRecorder`] holds one of these per direction while it does not yet know which
//! way the car drives, and keeps the one the car follows.

use crate::base::geometry::{ClosedPolyline, Projection, Vec2};
use crate::base::sensor::Odometry;

use super::{BmScores, EndReason, LapDeviations, LapRules, LapStart, LapStats, Sample};
use crate::evaluation::circuit::lap_file::FINISH_RADIUS_M;

/// Where the first sample lay on this direction's line.
#[derive(Debug, Clone, Copy)]
pub(super) struct Origin {
    /// The first sample's stamp, seconds.
    pub t0: f64,
    /// Its projection onto the line.
    pub projection: Projection,
    /// Index of the raw reference point nearest it (in this direction's order), if one lies
    /// within Behavior Metrics' 100 m.
    pub nearest: Option<usize>,
}

/// Laps of one direction's line, from the first sample on.
#[derive(Debug, Clone)]
pub(super) struct DirectedLaps {
    line: ClosedPolyline,
    points: Vec<Vec2>,
    rules: LapRules,
    samples: Vec<Sample>,
    hint: usize,
    window: usize,
    last_s: f64,
    distance: f64,
    cumulative: Vec<f64>,
    stuck_from: usize,
    best_progress: f64,
    lap_ends: Vec<f64>,
    lap_end_samples: Vec<usize>,
    /// Behavior Metrics' deviations of the laps completed, scored as each ends.
    lap_deviations: LapDeviations,
    origin: Option<Origin>,
}

impl DirectedLaps {
    /// Laps of `line` (in the direction they are driven); `points` are the raw points it
    /// was made from, in the same direction, which Behavior Metrics' scores measure against.
    pub fn new(line: ClosedPolyline, points: Vec<Vec2>, rules: LapRules) -> Self {
        // Track within ±25 m of the last match: far more than a car covers between samples,
        // far less than the gap to another part of any sane circuit along the line.
        let spacing = line.length() / line.len() as f64;
        let window = (25.0 / spacing).ceil() as usize;
        Self {
            line,
            points,
            rules,
            samples: Vec::new(),
            hint: 0,
            window,
            last_s: 0.0,
            distance: 0.0,
            cumulative: Vec::new(),
            stuck_from: 0,
            best_progress: 0.0,
            lap_ends: Vec::new(),
            lap_end_samples: Vec::new(),
            lap_deviations: LapDeviations::default(),
            origin: None,
        }
    }

    /// The raw reference points, in this direction.
    pub fn points(&self) -> &[Vec2] {
        &self.points
    }

    /// Samples so far; their times count from the first.
    pub fn samples(&self) -> &[Sample] {
        &self.samples
    }

    /// Progress along the line since the first sample, metres (negative: driven backwards).
    pub fn progress(&self) -> f64 {
        self.samples.last().map_or(0.0, |s| s.progress_m)
    }

    /// Laps completed so far.
    pub fn laps_completed(&self) -> u32 {
        self.lap_ends.len() as u32
    }

    /// Where the first sample lay, once there is one.
    pub fn origin(&self) -> Option<&Origin> {
        self.origin.as_ref()
    }

    /// Records an odometry sample; returns why the run is over, if it is.
    pub fn record(&mut self, odom: &Odometry) -> Option<EndReason> {
        let p = odom.pose.p;
        let length = self.line.length();
        let proj = match self.origin {
            None => {
                let proj = self.line.project(p);
                self.origin = Some(Origin {
                    t0: odom.stamp,
                    projection: proj,
                    nearest: super::behavior_metrics::nearest(&self.points, p, 100.0),
                });
                proj
            }
            Some(_) => self.line.project_near(p, self.hint, self.window),
        };
        let t0 = self.origin.map_or(odom.stamp, |o| o.t0);
        let t = odom.stamp - t0;
        self.hint = proj.segment;
        let progress = match self.samples.last() {
            None => 0.0,
            Some(prev) => {
                self.distance += p.dist(Vec2::new(prev.x, prev.y));
                let mut ds = proj.s - self.last_s;
                if ds > length / 2.0 {
                    ds -= length;
                } else if ds < -length / 2.0 {
                    ds += length;
                }
                prev.progress_m + ds
            }
        };
        self.last_s = proj.s;
        let on_road = proj.distance <= self.rules.half_road;
        if on_road {
            self.best_progress = self.best_progress.max(progress);
        }
        // A lap ends where progress crosses the next multiple of the lap length.
        let next_lap = (self.lap_ends.len() + 1) as f64 * length;
        if on_road && progress >= next_lap {
            let end = match self.samples.last() {
                Some(prev) if progress > prev.progress_m => {
                    let frac = (next_lap - prev.progress_m) / (progress - prev.progress_m);
                    prev.t + frac.clamp(0.0, 1.0) * (t - prev.t)
                }
                _ => t,
            };
            self.lap_ends.push(end);
            self.lap_end_samples.push(self.samples.len());
        }
        self.samples.push(Sample {
            t,
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
                .update(&self.points, &path, &self.lap_end_samples);
        }

        if !on_road {
            return Some(EndReason::LeftRoad);
        }
        if self.lap_ends.len() as u32 >= self.rules.laps {
            return Some(EndReason::LapCompleted);
        }
        // Stuck: too little distance covered over the last window.
        while self.stuck_from + 1 < self.samples.len()
            && self.samples[self.stuck_from + 1].t <= t - self.rules.stuck_window_s
        {
            self.stuck_from += 1;
        }
        let start = &self.samples[self.stuck_from];
        if t - start.t >= self.rules.stuck_window_s
            && self.distance - self.cumulative[self.stuck_from] < self.rules.stuck_distance_m
        {
            return Some(EndReason::Stuck);
        }
        None
    }

    /// The positions recorded.
    pub fn path(&self) -> Vec<Vec2> {
        self.samples.iter().map(|s| Vec2::new(s.x, s.y)).collect()
    }

    /// Indices of the samples at which each lap was completed.
    #[cfg(test)]
    pub fn lap_end_samples(&self) -> &[usize] {
        &self.lap_end_samples
    }

    /// The lap a recording ending for `reason` closes at its last sample, if it ends on the
    /// road within [`FINISH_RADIUS_M`] short of the next lap: how far short it is.
    fn closed_by_the_end(&self, reason: EndReason) -> Option<f64> {
        let last = self.samples.last()?;
        let next_lap = (self.lap_ends.len() + 1) as f64 * self.line.length();
        let short = next_lap - last.progress_m;
        (reason == EndReason::EndOfRecording
            && (self.lap_ends.len() as u32) < self.rules.laps
            && short <= FINISH_RADIUS_M
            && last.lateral_m.abs() <= self.rules.half_road)
            .then_some(short)
    }

    /// The statistics of the run, which ended for `reason` and started at `start`.
    pub fn finish(&self, reason: EndReason, start: LapStart) -> LapStats {
        let sim_seconds = self.samples.last().map_or(0.0, |s| s.t);
        let closed_short = self.closed_by_the_end(reason);
        let (mut lap_ends, mut lap_end_samples) =
            (self.lap_ends.clone(), self.lap_end_samples.clone());
        let mut best_progress = self.best_progress;
        if closed_short.is_some() {
            lap_ends.push(sim_seconds);
            lap_end_samples.push(self.samples.len() - 1);
            best_progress = lap_ends.len() as f64 * self.line.length();
        }
        let mut lap_times = Vec::with_capacity(lap_ends.len());
        let mut from = 0.0;
        for &end in &lap_ends {
            lap_times.push(end - from);
            from = end;
        }
        let lap_seconds =
            (!lap_times.is_empty()).then(|| lap_times.iter().sum::<f64>() / lap_times.len() as f64);
        let checkpoints = (self.line.length() / self.rules.checkpoint_spacing_m)
            .floor()
            .max(1.0);
        let spacing = self.line.length() / checkpoints;
        let reached = (best_progress.max(0.0) / spacing + 1e-9).floor();
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
            lap_completed: !lap_ends.is_empty(),
            laps_completed: lap_ends.len() as u32,
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
                &self.points,
                &path,
                &times,
                &lap_end_samples,
                &self.lap_deviations,
            ),
            sim_seconds,
            end_reason: if closed_short.is_some() && lap_ends.len() as u32 >= self.rules.laps {
                EndReason::LapCompleted
            } else {
                reason
            },
            odometry_samples: n,
            lap_closed_short_m: closed_short,
            start,
        }
    }
}
