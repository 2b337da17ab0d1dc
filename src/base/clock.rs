//! Clocks: where "now" comes from, in seconds since the clock's own start.
//!
//! The brain reads time only through [`Clock`], so the same loop runs on the wall clock (a
//! robot, the ROS node) and on simulated time (the embedded simulator, and tests that step
//! time by hand and so need no sleeps).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// A source of the current time, seconds since the clock started.
pub trait Clock: Send + Sync {
    /// The time now, seconds.
    fn now(&self) -> f64;
}

/// Wall time since the clock was made.
#[derive(Debug, Clone, Copy)]
pub struct WallClock {
    start: Instant,
}

impl WallClock {
    /// A clock that reads 0 now.
    pub fn new() -> Self {
        WallClock {
            start: Instant::now(),
        }
    }

    /// The clock's reading at `instant`.
    pub fn at(&self, instant: Instant) -> f64 {
        instant
            .checked_duration_since(self.start)
            .map_or(0.0, |d| d.as_secs_f64())
    }
}

impl Default for WallClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for WallClock {
    fn now(&self) -> f64 {
        self.start.elapsed().as_secs_f64()
    }
}

/// Simulated time, set by whoever runs the simulation. Clones share one reading, so the world
/// that advances time and the brain that reads it hold the same clock.
#[derive(Debug, Clone, Default)]
pub struct SimClock {
    bits: Arc<AtomicU64>,
}

impl SimClock {
    /// A clock at time 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the time, seconds.
    pub fn set(&self, t: f64) {
        self.bits.store(t.to_bits(), Ordering::Relaxed);
    }

    /// Moves the time on by `dt` seconds.
    pub fn advance(&self, dt: f64) {
        self.set(self.now() + dt);
    }
}

impl Clock for SimClock {
    fn now(&self) -> f64 {
        f64::from_bits(self.bits.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simulated_time_is_shared_by_clones() {
        let a = SimClock::new();
        let b = a.clone();
        assert_eq!(b.now(), 0.0);
        a.set(1.5);
        b.advance(0.25);
        assert_eq!(a.now(), 1.75);
    }

    #[test]
    fn wall_time_moves_forward() {
        let c = WallClock::new();
        let t0 = c.now();
        assert!(t0 >= 0.0 && c.now() >= t0);
        assert_eq!(
            c.at(Instant::now() - std::time::Duration::from_secs(3600)),
            0.0
        );
    }
}
