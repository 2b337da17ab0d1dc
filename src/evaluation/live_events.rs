//! What happened to a live run's world besides the driving: ROS time read from `/clock` can
//! jump back (a simulator restarted, a world reset, a bag looped) or stand still while
//! odometry keeps coming (the clock's publisher died, the simulator paused its clock alone),
//! and the car can be moved rather than driven (a world reset, a robot carried back to the
//! start). [`ClockWatch`] tells each sample's clock step; [`LiveEvents`] is the record's
//! account of it all, with the lap attempts a reset cut short.

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// Wall time the clock may stand still, odometry coming, before it counts as stopped: ten
/// periods of Gazebo's 10 Hz `/clock`.
pub const CLOCK_STALL: Duration = Duration::from_secs(1);

/// Why a lap restarted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RestartCause {
    /// The clock went back.
    ClockBack,
    /// The car was moved farther between two samples than it drives ([`MOVED_M`]).
    Moved,
}

/// Distance between two odometry samples beyond which the car was moved, not driven, metres:
/// the lap tracker's search window along the line (at 20 Hz odometry, 500 m/s).
pub const MOVED_M: f64 = 25.0;

/// A lap attempt cut short by a reset of the world.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LapRestart {
    /// What showed the reset.
    pub cause: RestartCause,
    /// How far the car was from its last sample, metres.
    pub moved_m: f64,
    /// The clock's last time before the reset, seconds.
    pub clock_from_s: f64,
    /// Its first time after it, seconds (the same when only the car moved).
    pub clock_to_s: f64,
    /// How far the cut attempt had got: the completion of its lap, percent.
    pub percentage_completed: f64,
    /// Laps it completed.
    pub laps_completed: u32,
    /// Its run time, seconds.
    pub sim_seconds: f64,
    /// Its odometry samples.
    pub odometry_samples: usize,
}

/// What happened to a live run's world.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LiveEvents {
    /// Times the clock went back; each restarts the lap, as tf2 clears its buffer on a
    /// jump back in time: the world was reset.
    pub clock_jumps_back: u32,
    /// The attempts resets cut short (a jump back, the car moved), in order; the record's
    /// lap figures are the attempt after the last of them.
    pub lap_restarts: Vec<LapRestart>,
    /// Spans of at least [`CLOCK_STALL`] of wall time in which the clock stood still while
    /// odometry kept coming.
    pub clock_stalls: u32,
    /// Wall time those spans took in all, seconds (their samples carry the stopped time).
    pub clock_stalled_wall_s: f64,
}

/// What one sample's stamp did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ClockStep {
    /// The first sample, or time moved on (or stands still within [`CLOCK_STALL`]).
    Normal,
    /// Time has now stood still for [`CLOCK_STALL`] with samples coming: a stall began.
    Stalled,
    /// Time moves again after a stall of this much wall time.
    Resumed(Duration),
    /// Time went back from this stamp.
    Back(f64),
}

/// Watches the stamps of a live run's samples.
#[derive(Debug, Default)]
pub struct ClockWatch {
    events: LiveEvents,
    /// The last stamp, and the wall time it was first seen at.
    last: Option<(f64, Instant)>,
    /// The latest wall time a sample came, while stalled.
    stalled_until: Option<Instant>,
}

impl ClockWatch {
    /// The step of a sample stamped `stamp`, received at wall time `wall`.
    pub fn observe(&mut self, stamp: f64, wall: Instant) -> ClockStep {
        let Some((last, since)) = self.last else {
            self.last = Some((stamp, wall));
            return ClockStep::Normal;
        };
        if stamp < last {
            self.end_stall(since);
            self.events.clock_jumps_back += 1;
            self.last = Some((stamp, wall));
            return ClockStep::Back(last);
        }
        if stamp > last {
            self.last = Some((stamp, wall));
            return match self.end_stall(since) {
                Some(stood) => ClockStep::Resumed(stood),
                None => ClockStep::Normal,
            };
        }
        if self.stalled_until.is_some() {
            self.stalled_until = Some(wall);
            return ClockStep::Normal;
        }
        if wall.saturating_duration_since(since) >= CLOCK_STALL {
            self.stalled_until = Some(wall);
            self.events.clock_stalls += 1;
            return ClockStep::Stalled;
        }
        ClockStep::Normal
    }

    /// Closes a stall that began at `since`: its wall time, counted.
    fn end_stall(&mut self, since: Instant) -> Option<Duration> {
        let until = self.stalled_until.take()?;
        let stood = until.saturating_duration_since(since);
        self.events.clock_stalled_wall_s += stood.as_secs_f64();
        Some(stood)
    }

    /// Records an attempt a jump back cut short.
    pub fn restarted(&mut self, restart: LapRestart) {
        self.events.lap_restarts.push(restart);
    }

    /// The events so far, a stall still going included.
    pub fn events(&self) -> LiveEvents {
        let mut events = self.events.clone();
        if let (Some(until), Some((_, since))) = (self.stalled_until, self.last) {
            events.clock_stalled_wall_s += until.saturating_duration_since(since).as_secs_f64();
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The steps of samples given as (stamp, wall seconds after `at`).
    fn feed(
        w: &mut ClockWatch,
        at: Instant,
        stamps: impl Iterator<Item = (f64, f64)>,
    ) -> Vec<ClockStep> {
        stamps
            .map(|(stamp, wall)| w.observe(stamp, at + Duration::from_secs_f64(wall)))
            .collect()
    }

    #[test]
    fn a_steady_clock_and_a_coarse_one_are_normal() {
        let (mut w, at) = (ClockWatch::default(), Instant::now());
        // 30 Hz odometry on a 10 Hz clock: three samples share each time.
        let steps = feed(
            &mut w,
            at,
            (0..300).map(|i| ((i / 3) as f64 * 0.1, i as f64 / 30.0)),
        );
        assert!(steps.iter().all(|s| *s == ClockStep::Normal));
        assert_eq!(w.events(), LiveEvents::default());
    }

    #[test]
    fn a_clock_that_stops_is_one_stall_with_its_wall_time() {
        let (mut w, at) = (ClockWatch::default(), Instant::now());
        // Time runs 2 s, stands at 2.0 for 3 s of samples, then runs again.
        let stamps = (0..=140).map(|i| {
            let wall = i as f64 * 0.05;
            let stamp = if wall <= 2.0 {
                wall
            } else if wall < 5.0 {
                2.0
            } else {
                wall - 2.95
            };
            (stamp, wall)
        });
        let steps = feed(&mut w, at, stamps);
        let stalled = steps.iter().position(|s| *s == ClockStep::Stalled).unwrap();
        // Flagged a second after time stopped (2.0 s + 1 s of wall time).
        assert!((stalled as f64 * 0.05 - 3.0).abs() < 1e-9, "{stalled}");
        assert_eq!(
            steps.iter().filter(|s| **s == ClockStep::Stalled).count(),
            1
        );
        // Time moving again closes the stall with the wall time it stood.
        let ClockStep::Resumed(stood) = steps[100] else {
            panic!("{:?}", steps[100]);
        };
        assert!((stood.as_secs_f64() - 2.95).abs() < 1e-6, "{stood:?}");
        let e = w.events();
        assert_eq!((e.clock_stalls, e.clock_jumps_back), (1, 0));
        assert!((e.clock_stalled_wall_s - 2.95).abs() < 1e-6, "{e:?}");
    }

    #[test]
    fn a_stall_still_going_counts_its_time_so_far() {
        let (mut w, at) = (ClockWatch::default(), Instant::now());
        feed(&mut w, at, (0..60).map(|i| (1.0, i as f64 * 0.05)));
        let e = w.events();
        assert_eq!(e.clock_stalls, 1);
        assert!((e.clock_stalled_wall_s - 2.95).abs() < 1e-6, "{e:?}");
    }

    #[test]
    fn a_jump_back_says_from_where_and_is_counted() {
        let (mut w, at) = (ClockWatch::default(), Instant::now());
        let stamps = (0..40).map(|i| {
            let t = i as f64 * 0.05;
            (if i < 20 { 10.0 + t } else { t - 1.0 }, t)
        });
        let steps = feed(&mut w, at, stamps);
        let ClockStep::Back(from) = steps[20] else {
            panic!("{:?}", steps[20]);
        };
        assert!((from - 10.95).abs() < 1e-9, "{from}");
        assert!(steps
            .iter()
            .enumerate()
            .all(|(i, s)| i == 20 || *s == ClockStep::Normal));
        assert_eq!(w.events().clock_jumps_back, 1);
    }
}
