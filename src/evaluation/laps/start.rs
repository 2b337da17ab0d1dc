//! Where a run started on its reference lap and which way round it drives it: the lap is
//! counted from the car's first position, not from the reference's first point, in the
//! direction the car goes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Which way round a run drives its reference lap, relative to the lap's own order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// Found from the drive: the way the car has gone once it is
    /// [`DIRECTION_FOUND_AFTER_M`] along the line (in a shorter run, the way it went).
    #[default]
    Auto,
    /// The reference's own order.
    Forward,
    /// Against it.
    Reverse,
}

impl Direction {
    /// The name on command lines and in parameters.
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Auto => "auto",
            Direction::Forward => "forward",
            Direction::Reverse => "reverse",
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Direction {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(Direction::Auto),
            "forward" => Ok(Direction::Forward),
            "reverse" => Ok(Direction::Reverse),
            _ => Err(format!(
                "'{s}' is not a direction (expected auto, forward or reverse)"
            )),
        }
    }
}

/// How far along the line, either way, the car must have gone for its direction to be found,
/// metres (a quarter of the lap on a lap shorter than 20 m). Odometry jitter at a standstill
/// or a start across the road does not reach it; no lap can end before it.
pub const DIRECTION_FOUND_AFTER_M: f64 = 5.0;

/// How the direction of a run was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DirectionFrom {
    /// Said by whoever produced the run (`metrics --direction`, the ROS node's `direction`).
    Given,
    /// Found from the drive.
    #[default]
    Driven,
}

/// Where a run started against its reference and which way round it drove it. Records
/// written before these keys existed read back with their defaults.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct LapStart {
    /// The clock at the first odometry sample, seconds (0 in the simulator; a recording's
    /// first stamp; the ROS node's time at its first sample). The trajectory's times and the
    /// lap times count from it.
    pub start_time_s: f64,
    /// Where the car started: x, metres.
    pub start_x_m: f64,
    /// Where the car started: y, metres.
    pub start_y_m: f64,
    /// The car's heading at the start, radians.
    pub start_yaw_rad: f64,
    /// Distance along the reference line, in the driving direction, from the line's first
    /// point to where the car started (its nearest point on the line), metres: the lap is
    /// counted from there.
    pub start_offset_m: f64,
    /// Signed distance of the start from the line (positive: left of the driving
    /// direction), metres.
    pub start_lateral_m: f64,
    /// Index of the raw reference point nearest the start, in the reference lap's own order
    /// (where Behavior Metrics' walks begin); null when none lies within its 100 m.
    pub start_reference_index: Option<usize>,
    /// Driven against the reference lap's own order.
    pub reverse: bool,
    /// How the direction was decided.
    pub direction_from: DirectionFrom,
}
