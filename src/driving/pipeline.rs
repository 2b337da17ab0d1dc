//! The brain's core pipeline: frame → pilot → limits → command, timed and made safe.
//!
//! The simulator and the ROS node both drive a [`Pipeline`]; what differs between them is only
//! where frames and odometry come from and where commands go. A pilot error or a non-finite
//! command never reaches the vehicle: the pipeline commands a stop and counts the event.

use std::time::{Duration, Instant};

use crate::base::control::{Command, CommandLimits, Limiter};
use crate::base::sensor::{Frame, Odometry};
use crate::base::timing::StepTimer;
use crate::driving::pilot::{Pilot, PilotError, StageTimings};

/// Counts of what the safety stages had to do.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SafetyCounters {
    /// Frames the pilot could not process (a stop was sent instead).
    pub pilot_errors: u64,
    /// Commands that were NaN or infinite (a stop was sent instead).
    pub non_finite_commands: u64,
    /// Commands changed by the range or rate limits.
    pub clamped_commands: u64,
}

/// Result of one pipeline step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Step {
    /// The command to send.
    pub cmd: Command,
    /// Wall time the pilot took.
    pub elapsed: Duration,
}

/// A pilot wrapped with command limits, timing and safety counters.
pub struct Pipeline {
    pilot: Box<dyn Pilot>,
    limiter: Limiter,
    timer: StepTimer,
    odometry: Option<Odometry>,
    counters: SafetyCounters,
}

impl Pipeline {
    /// A pipeline around `pilot` with `limits` on its commands.
    pub fn new(pilot: Box<dyn Pilot>, limits: CommandLimits) -> Self {
        Self {
            pilot,
            limiter: Limiter::new(limits),
            timer: StepTimer::new(),
            odometry: None,
            counters: SafetyCounters::default(),
        }
    }

    /// The pilot's name.
    pub fn pilot_name(&self) -> &str {
        self.pilot.name()
    }

    /// Latest odometry, handed to the pilot with the next frame.
    pub fn on_odometry(&mut self, odom: Odometry) {
        self.odometry = Some(odom);
    }

    /// Runs the pilot on `frame` and returns the command to send.
    pub fn on_frame(&mut self, frame: &Frame) -> Step {
        let start = Instant::now();
        let result = self.pilot.drive(frame, self.odometry.as_ref());
        let elapsed = start.elapsed();
        self.timer.record(elapsed);
        let raw = match result {
            Ok(cmd) => cmd,
            // A NaN from the network is passed on so the limiter stops and counts it.
            Err(PilotError::NonFinite { v, w }) => Command::new(v, w),
            Err(e) => {
                self.counters.pilot_errors += 1;
                if self.counters.pilot_errors <= 5 {
                    tracing::warn!(seq = frame.seq, error = %e, "pilot failed; commanding a stop");
                }
                Command::STOP
            }
        };
        let limited = self.limiter.apply(raw, frame.stamp);
        if limited.non_finite {
            self.counters.non_finite_commands += 1;
            if self.counters.non_finite_commands <= 5 {
                tracing::warn!(
                    seq = frame.seq,
                    v = raw.v,
                    w = raw.w,
                    "non-finite command; commanding a stop"
                );
            }
        }
        if limited.clamped {
            self.counters.clamped_commands += 1;
        }
        Step {
            cmd: limited.cmd,
            elapsed,
        }
    }

    /// A stop was sent without a frame (the camera stalled): rate limits count from rest
    /// when frames return.
    pub fn on_stall(&mut self) {
        self.limiter.stopped();
    }

    /// Step timing so far.
    pub fn timer(&self) -> &StepTimer {
        &self.timer
    }

    /// The pilot's per-stage timing, if it has stages.
    pub fn stage_timings(&self) -> Option<StageTimings> {
        self.pilot.stage_timings()
    }

    /// Safety counters so far.
    pub fn counters(&self) -> SafetyCounters {
        self.counters
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Scripted(Vec<Result<Command, PilotError>>);
    impl Pilot for Scripted {
        fn name(&self) -> &str {
            "scripted"
        }
        fn drive(&mut self, _: &Frame, _: Option<&Odometry>) -> Result<Command, PilotError> {
            self.0.remove(0)
        }
    }

    #[test]
    fn errors_and_nan_become_stops_and_are_counted() {
        let pilot = Scripted(vec![
            Ok(Command::new(5.0, 0.5)),
            Ok(Command::new(f64::NAN, 0.0)),
            Err(PilotError::Backend("boom".into())),
            Ok(Command::new(100.0, 0.0)),
            Err(PilotError::NonFinite {
                v: f64::INFINITY,
                w: 0.0,
            }),
        ]);
        let mut p = Pipeline::new(Box::new(pilot), CommandLimits::default());
        let f = Frame::new_rgb8(2, 2);
        assert_eq!(p.on_frame(&f).cmd, Command::new(5.0, 0.5));
        assert_eq!(p.on_frame(&f).cmd, Command::STOP);
        assert_eq!(p.on_frame(&f).cmd, Command::STOP);
        assert_eq!(p.on_frame(&f).cmd, Command::new(24.0, 0.0));
        assert_eq!(p.on_frame(&f).cmd, Command::STOP);
        let c = p.counters();
        assert_eq!(
            (c.pilot_errors, c.non_finite_commands, c.clamped_commands),
            (1, 2, 1)
        );
        assert_eq!(p.timer().count(), 5);
    }
}
