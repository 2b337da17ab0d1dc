//! Velocity commands and the limits applied to them before they reach a vehicle.
//!
//! A [`Command`] is what `geometry_msgs/Twist` carries for a planar robot: `linear.x` (v) and
//! `angular.z` (w). [`Limiter`] is the last stage of every pipeline: it replaces non-finite
//! commands with a stop, clamps to the configured ranges and bounds the rate of change.

use serde::{Deserialize, Serialize};

use crate::base::settings::{within, InvalidSetting};

/// A velocity command.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Command {
    /// Forward speed, m/s.
    pub v: f64,
    /// Yaw rate, rad/s (positive turns left).
    pub w: f64,
}

impl Command {
    /// Standing still.
    pub const STOP: Command = Command { v: 0.0, w: 0.0 };

    /// A command from its parts.
    pub const fn new(v: f64, w: f64) -> Self {
        Self { v, w }
    }
    /// True when both parts are finite numbers.
    pub fn is_finite(&self) -> bool {
        self.v.is_finite() && self.w.is_finite()
    }
}

/// Ranges and rates a command must respect.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CommandLimits {
    /// Lowest forward speed, m/s.
    pub v_min: f64,
    /// Highest forward speed, m/s.
    pub v_max: f64,
    /// Largest yaw rate magnitude, rad/s.
    pub w_max: f64,
    /// Largest change of v per second, m/s² ([`CommandLimits::NO_RATE_LIMIT`]: none).
    pub dv_max: f64,
    /// Largest change of w per second, rad/s² ([`CommandLimits::NO_RATE_LIMIT`]: none).
    pub dw_max: f64,
}

impl Default for CommandLimits {
    /// The ranges of Behavior Metrics' F1 brains: v in [0, 24] m/s, |w| ≤ 7.1 rad/s.
    fn default() -> Self {
        Self {
            v_min: 0.0,
            v_max: 24.0,
            w_max: 7.1,
            dv_max: Self::NO_RATE_LIMIT,
            dw_max: Self::NO_RATE_LIMIT,
        }
    }
}

/// Highest speed any limit may allow, m/s (a bound on typing errors, not on robots).
const V_BOUND: f64 = 100.0;
/// Highest yaw rate any limit may allow, rad/s.
const W_BOUND: f64 = 100.0;
/// Highest rate limit, m/s² or rad/s².
const RATE_BOUND: f64 = 10_000.0;

impl CommandLimits {
    /// The rate limit that limits nothing. Zero, so it reads the same on the command line,
    /// in a ROS params file and here.
    pub const NO_RATE_LIMIT: f64 = 0.0;

    /// Checks that the limits make sense; the error names the limit.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        within("v_min", self.v_min, 0.0, V_BOUND)?;
        within("v_max", self.v_max, 0.0, V_BOUND)?;
        if self.v_min > self.v_max {
            return Err(InvalidSetting::new(
                "v_min",
                format!("{} is above v_max {}", self.v_min, self.v_max),
            ));
        }
        within("w_max", self.w_max, 0.0, W_BOUND)?;
        within("dv_max", self.dv_max, 0.0, RATE_BOUND)?;
        within("dw_max", self.dw_max, 0.0, RATE_BOUND)?;
        Ok(())
    }
}

/// What the limiter did to a command.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limited {
    /// The command to send.
    pub cmd: Command,
    /// The input was NaN or infinite and was replaced by a stop.
    pub non_finite: bool,
    /// The input was outside a range or rate and was changed.
    pub clamped: bool,
}

/// Applies [`CommandLimits`], remembering the last command for the rate limits.
///
/// The rates count from rest: the first command after [`Limiter::new`] or
/// [`Limiter::stopped`] is limited as if the car had been commanded to stop at that instant,
/// so with a rate limit a start, or a restart after a stall, ramps up instead of jumping.
#[derive(Debug, Clone)]
pub struct Limiter {
    limits: CommandLimits,
    last: Option<(f64, Command)>,
}

impl Limiter {
    /// A limiter for a car at rest.
    pub fn new(limits: CommandLimits) -> Self {
        Self { limits, last: None }
    }

    /// A stop was sent outside the limiter (a stalled camera): the next command ramps from
    /// rest again.
    pub fn stopped(&mut self) {
        self.last = None;
    }

    /// The limits in force.
    pub fn limits(&self) -> &CommandLimits {
        &self.limits
    }

    /// Limits `cmd`, issued at time `t` seconds.
    pub fn apply(&mut self, cmd: Command, t: f64) -> Limited {
        let l = &self.limits;
        let non_finite = !cmd.is_finite();
        let target = if non_finite { Command::STOP } else { cmd };
        let mut out = Command::new(
            target.v.clamp(l.v_min, l.v_max),
            target.w.clamp(-l.w_max, l.w_max),
        );
        // A stop for a non-finite command is a safety action: it is not rate limited.
        if !non_finite {
            let (t0, prev) = self.last.unwrap_or((t, Command::STOP));
            let dt = (t - t0).max(0.0);
            if l.dv_max != CommandLimits::NO_RATE_LIMIT {
                out.v = out.v.clamp(prev.v - l.dv_max * dt, prev.v + l.dv_max * dt);
            }
            if l.dw_max != CommandLimits::NO_RATE_LIMIT {
                out.w = out.w.clamp(prev.w - l.dw_max * dt, prev.w + l.dw_max * dt);
            }
        }
        self.last = Some((t, out));
        Limited {
            cmd: out,
            non_finite,
            clamped: !non_finite && out != cmd,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_becomes_stop() {
        let mut l = Limiter::new(CommandLimits::default());
        let r = l.apply(Command::new(f64::NAN, 1.0), 0.0);
        assert!(r.non_finite);
        assert_eq!(r.cmd, Command::STOP);
        let r = l.apply(Command::new(3.0, f64::INFINITY), 0.1);
        assert!(r.non_finite);
        assert_eq!(r.cmd, Command::STOP);
    }

    #[test]
    fn clamps_ranges_and_rates() {
        let limits = CommandLimits {
            dv_max: 10.0,
            ..CommandLimits::default()
        };
        let mut l = Limiter::new(limits);
        // From rest: v may not jump, w (no rate limit) is only range-clamped.
        let r = l.apply(Command::new(30.0, -9.0), 0.0);
        assert_eq!(r.cmd, Command::new(0.0, -7.1));
        assert!(r.clamped);
        // v rises by at most 10 m/s² × dt, up to v_max.
        let r = l.apply(Command::new(30.0, 0.0), 0.5);
        assert!((r.cmd.v - 5.0).abs() < 1e-9);
        let r = l.apply(Command::new(30.0, 0.0), 10.0);
        assert_eq!(r.cmd.v, 24.0);
        // 0.1 s later v may drop by at most 1 m/s.
        let r = l.apply(Command::new(0.0, 0.0), 10.1);
        assert!((r.cmd.v - 23.0).abs() < 1e-9);
        // After a stop sent elsewhere, the next command ramps from rest again.
        l.stopped();
        let r = l.apply(Command::new(30.0, 0.0), 20.0);
        assert_eq!(r.cmd.v, 0.0);
        let r = l.apply(Command::new(30.0, 0.0), 20.1);
        assert!((r.cmd.v - 1.0).abs() < 1e-9);
        // Two commands with the same stamp and no rate limit pass unchanged.
        let mut free = Limiter::new(CommandLimits::default());
        free.apply(Command::new(1.0, 0.0), 0.0);
        assert_eq!(
            free.apply(Command::new(2.0, 1.0), 0.0).cmd,
            Command::new(2.0, 1.0)
        );
    }

    #[test]
    fn validate_rejects_nonsense() {
        let bad = CommandLimits {
            v_min: 5.0,
            v_max: 1.0,
            ..CommandLimits::default()
        };
        assert_eq!(bad.validate().unwrap_err().name, "v_min");
        for (limits, name) in [
            (
                CommandLimits {
                    w_max: -1.0,
                    ..CommandLimits::default()
                },
                "w_max",
            ),
            (
                CommandLimits {
                    dv_max: f64::NAN,
                    ..CommandLimits::default()
                },
                "dv_max",
            ),
            (
                CommandLimits {
                    dw_max: -2.0,
                    ..CommandLimits::default()
                },
                "dw_max",
            ),
            (
                CommandLimits {
                    v_max: f64::INFINITY,
                    ..CommandLimits::default()
                },
                "v_max",
            ),
        ] {
            assert_eq!(limits.validate().unwrap_err().name, name, "{limits:?}");
        }
        assert!(CommandLimits::default().validate().is_ok());
    }
}
