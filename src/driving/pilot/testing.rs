//! Pilots for tests of the whole program (cargo feature `testing`, never in a release
//! build): they change how a real pilot behaves so a test over ROS can make the brain slower
//! than its camera.

use std::time::Duration;

use super::{Engine, Pilot, PilotError, StageTimings};
use crate::base::control::Command;
use crate::base::sensor::{Frame, Odometry};

/// Another pilot, with a fixed sleep before every frame.
pub struct Delayed {
    inner: Box<dyn Pilot>,
    delay: Duration,
}

impl Delayed {
    /// `inner`, `delay` slower per frame.
    pub fn new(inner: Box<dyn Pilot>, delay: Duration) -> Self {
        Delayed { inner, delay }
    }
}

impl Pilot for Delayed {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn engine(&self) -> Option<Engine> {
        self.inner.engine()
    }
    fn drive(&mut self, frame: &Frame, odom: Option<&Odometry>) -> Result<Command, PilotError> {
        std::thread::sleep(self.delay);
        self.inner.drive(frame, odom)
    }
    fn stage_timings(&self) -> Option<StageTimings> {
        self.inner.stage_timings()
    }
}
