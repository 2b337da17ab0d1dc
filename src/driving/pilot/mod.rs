//! Pilots: camera frame (plus optional odometry) in, velocity command out.
//!
//! [`Pilot`] is the seam of the project: the simulator and the ROS node call it, the expert
//! implements it from image processing and the network pilot from a neural network.

mod expert;
mod network;
#[cfg(feature = "testing")]
pub mod testing;

use thiserror::Error;

pub use expert::{ExpertConfig, ExpertPilot};
pub use network::{NetworkError, NetworkPilot, StageTimings};

use crate::base::control::Command;
use crate::base::sensor::{FrameError, Odometry};
use crate::inference::backend::{BackendKind, Device};

/// The inference engine a network pilot runs on, as records state it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Engine {
    /// The backend.
    pub backend: BackendKind,
    /// The device.
    pub device: Device,
}

/// Why a pilot could not produce a command for a frame.
#[derive(Debug, Error)]
pub enum PilotError {
    /// The frame is malformed or unusable for this pilot.
    #[error("camera frame rejected: {0}")]
    Frame(#[from] FrameError),
    /// The inference backend failed.
    #[error("inference failed: {0}")]
    Backend(String),
    /// The network produced a NaN or infinite command.
    #[error("the network's command is not finite: v {v}, w {w}")]
    NonFinite {
        /// Linear velocity it gave.
        v: f64,
        /// Angular velocity it gave.
        w: f64,
    },
}

/// Something that drives: one command per camera frame.
pub trait Pilot: Send {
    /// Short name for reports (`expert`, a model file name, …).
    fn name(&self) -> &str;

    /// The inference engine, for pilots that run a network.
    fn engine(&self) -> Option<Engine> {
        None
    }

    /// The command for this frame. `odometry` is the latest odometry, when there is one.
    fn drive(
        &mut self,
        frame: &crate::base::sensor::Frame,
        odometry: Option<&Odometry>,
    ) -> Result<Command, PilotError>;

    /// Per-stage timing (preprocessing, inference), for pilots that have stages.
    fn stage_timings(&self) -> Option<StageTimings> {
        None
    }
}
