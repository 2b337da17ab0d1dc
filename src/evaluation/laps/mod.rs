//! Lap statistics in the style of JdeRobot's Behavior Metrics, recorded from odometry against
//! a reference line.
//!
//! [`LapRecorder`] is fed odometry samples as they arrive (20 Hz in the simulator, whatever the
//! robot publishes on ROS), counts the laps from where the car started in the direction it
//! drives ([`start`]), decides when the run is over (lap completed, stuck, left the road) and
//! at the end computes [`LapStats`].

mod behavior_metrics;
mod directed;
mod minimize;
mod recorder;
mod spline;
pub mod start;

use serde::{Deserialize, Serialize};

pub use behavior_metrics::{
    percentage_completed, position_deviation, position_deviation_by_lap, BmScores, Deviation,
    LapDeviations,
};

pub use recorder::LapRecorder;
pub use start::{Direction, DirectionFrom, LapStart};

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
    /// Time since the run's first sample, seconds.
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
    /// Distance along the reference since the car's start (grows over laps), metres.
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
    /// A recording that ends within a metre short of closing its lap has closed it, as
    /// Behavior Metrics' perfect-lap recordings do: how far short, metres, its time that of
    /// the last sample (null when no lap was closed so).
    pub lap_closed_short_m: Option<f64>,
    /// Where the run started and which way round it drove.
    #[serde(flatten)]
    pub start: LapStart,
}
