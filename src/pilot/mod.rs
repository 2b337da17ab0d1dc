//! Pilots: camera frame (plus optional odometry) in, velocity command out.
//!
//! [`Pilot`] is the seam of the project: the simulator and the ROS node call it, the expert
//! implements it from image processing and the network pilot from a neural network.

mod expert;

use thiserror::Error;

pub use expert::{ExpertConfig, ExpertPilot};

use crate::control::Command;
use crate::sensor::{FrameError, Odometry};

/// Why a pilot could not produce a command for a frame.
#[derive(Debug, Error)]
pub enum PilotError {
    /// The frame is malformed or unusable for this pilot.
    #[error("camera frame rejected: {0}")]
    Frame(#[from] FrameError),
    /// The inference backend failed.
    #[error("inference failed: {0}")]
    Backend(String),
}

/// Something that drives: one command per camera frame.
pub trait Pilot: Send {
    /// Short name for reports (`expert`, a model file name, …).
    fn name(&self) -> &str;

    /// The command for this frame. `odometry` is the latest odometry, when there is one.
    fn drive(
        &mut self,
        frame: &crate::sensor::Frame,
        odometry: Option<&Odometry>,
    ) -> Result<Command, PilotError>;
}
