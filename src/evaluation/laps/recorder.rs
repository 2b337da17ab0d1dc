//! The one place a run's laps are counted, whoever produced it (the simulator, a recording,
//! the ROS node, the dataset recorder): from the car's first position, in the direction it
//! drives.
//!
//! Until the direction is known (see [`Direction::Auto`]) both ways are followed side by side
//! from the same samples; the end of a run (off the road, stuck) does not depend on the
//! direction and no lap can close before it is found, so nothing is decided twice.

use crate::base::sensor::Odometry;
use crate::evaluation::circuit::Circuit;

use super::directed::DirectedLaps;
use super::start::{Direction, DirectionFrom, LapStart, DIRECTION_FOUND_AFTER_M};
use super::{EndReason, LapRules, LapStats, Sample};

/// Records a run's odometry and turns it into [`LapStats`].
#[derive(Debug, Clone)]
pub struct LapRecorder {
    /// The direction followed (the one kept once found).
    laps: DirectedLaps,
    /// Whether `laps` runs against the reference lap's own order.
    reversed: bool,
    /// The other direction, followed while the direction is not known.
    other: Option<DirectedLaps>,
    from: DirectionFrom,
    /// Progress either way that decides the direction, metres.
    decide_m: f64,
}

impl LapRecorder {
    /// A recorder for `rules.laps` laps of `circuit` (its line, its raw points), driven in
    /// `direction`; with [`Direction::Auto`] the circuit's own orientation is the first guess.
    pub fn new(circuit: &Circuit, rules: LapRules, direction: Direction) -> Self {
        let directed =
            |c: &Circuit| DirectedLaps::new(c.centre.clone(), c.reference_points.clone(), rules);
        let (oriented, other, from) = match direction {
            Direction::Auto => (
                circuit.clone(),
                Some(directed(&circuit.in_direction(!circuit.reversed))),
                DirectionFrom::Driven,
            ),
            Direction::Forward => (circuit.in_direction(false), None, DirectionFrom::Given),
            Direction::Reverse => (circuit.in_direction(true), None, DirectionFrom::Given),
        };
        LapRecorder {
            laps: directed(&oriented),
            reversed: oriented.reversed,
            other,
            from,
            decide_m: DIRECTION_FOUND_AFTER_M.min(circuit.length() / 4.0),
        }
    }

    /// A recorder for `laps` laps of `circuit` with its road, driven in `direction`.
    pub fn for_circuit(circuit: &Circuit, laps: u32, direction: Direction) -> Self {
        Self::new(
            circuit,
            LapRules {
                laps,
                half_road: circuit.road.road_width / 2.0,
                ..LapRules::default()
            },
            direction,
        )
    }

    /// Samples so far, in the direction followed.
    pub fn samples(&self) -> &[Sample] {
        self.chosen().0.samples()
    }

    /// Laps completed so far.
    pub fn laps_completed(&self) -> u32 {
        self.chosen().0.laps_completed()
    }

    /// Whether the run drives against the reference lap's own order (the way it has gone so
    /// far, while that is not settled).
    pub fn reversed(&self) -> bool {
        self.chosen().1
    }

    /// Records an odometry sample; returns why the run is over, if it is.
    pub fn record(&mut self, odom: &Odometry) -> Option<EndReason> {
        let end = self.laps.record(odom);
        let Some(other) = &mut self.other else {
            return end;
        };
        let other_end = other.record(odom);
        let progress = self.laps.progress();
        if progress >= self.decide_m {
            self.other = None;
        } else if progress <= -self.decide_m {
            self.laps = self.other.take().expect("followed while undecided");
            self.reversed = !self.reversed;
            return other_end;
        }
        end
    }

    /// The direction the statistics are of: the one found, or while it is not, the way the
    /// car has gone so far (its own orientation when it has not moved along the line).
    fn chosen(&self) -> (&DirectedLaps, bool) {
        match &self.other {
            Some(other) if self.laps.progress() < 0.0 => (other, !self.reversed),
            _ => (&self.laps, self.reversed),
        }
    }

    /// Where the run started and how it drives, as the statistics state it.
    fn start(&self) -> LapStart {
        let (laps, reversed) = self.chosen();
        let Some(origin) = laps.origin() else {
            return LapStart {
                reverse: reversed,
                direction_from: self.from,
                ..LapStart::default()
            };
        };
        let first = laps.samples()[0];
        let n = laps.points().len();
        LapStart {
            start_time_s: origin.t0,
            start_x_m: first.x,
            start_y_m: first.y,
            start_yaw_rad: first.yaw,
            start_offset_m: origin.projection.s,
            start_lateral_m: origin.projection.lateral,
            // The reversed points are the file's read backwards.
            start_reference_index: origin.nearest.map(|i| if reversed { n - 1 - i } else { i }),
            reverse: reversed,
            direction_from: self.from,
        }
    }

    /// The statistics of the run, which ended for `reason`.
    pub fn finish(&self, reason: EndReason) -> LapStats {
        self.chosen().0.finish(reason, self.start())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::geometry::{ClosedPolyline, Pose2, Vec2};
    use crate::evaluation::circuit::RoadGeometry;
    use crate::evaluation::laps::BmScores;
    use std::f64::consts::{PI, TAU};

    /// 3000 points of a circle of radius `r`, counter-clockwise from angle 0.
    fn circle_points(r: f64) -> Vec<Vec2> {
        (0..3000)
            .map(|i| {
                let a = TAU * i as f64 / 3000.0;
                Vec2::new(r * a.cos(), r * a.sin())
            })
            .collect()
    }

    /// A circle of radius `r` as a circuit, its line exactly its points.
    fn circle(r: f64) -> Circuit {
        Circuit {
            name: "circle".into(),
            source: "test".into(),
            reversed: false,
            centre: ClosedPolyline::new(circle_points(r)),
            reference_points: circle_points(r),
            road: RoadGeometry::default(),
        }
    }

    fn recorder(r: f64, rules: LapRules) -> LapRecorder {
        LapRecorder::new(&circle(r), rules, Direction::Auto)
    }

    /// How a test drive goes round a circle.
    #[derive(Clone, Copy)]
    struct Drive {
        /// Radius, metres.
        r: f64,
        /// Speed, m/s.
        v: f64,
        /// Angle it starts at, radians.
        from: f64,
        /// Clockwise (against the test circles' order).
        clockwise: bool,
        /// Stamp of the first sample, seconds.
        t0: f64,
    }

    impl Drive {
        fn ccw(r: f64, v: f64) -> Drive {
            Drive {
                r,
                v,
                from: 0.0,
                clockwise: false,
                t0: 0.0,
            }
        }
    }

    /// Drives `d` for `t_end` seconds at 20 Hz; returns why the run ended, if it did.
    fn drive(rec: &mut LapRecorder, d: Drive, t_end: f64) -> Option<EndReason> {
        let sign = if d.clockwise { -1.0 } else { 1.0 };
        let mut k = 0u32;
        loop {
            let t = k as f64 * 0.05;
            if t > t_end + 1e-9 {
                return None;
            }
            let a = d.from + sign * d.v * t / d.r;
            let odom = Odometry {
                stamp: d.t0 + t,
                pose: Pose2 {
                    p: Vec2::new(d.r * a.cos(), d.r * a.sin()),
                    yaw: a + sign * TAU / 4.0,
                },
                v: d.v,
                w: sign * d.v / d.r,
            };
            if let Some(end) = rec.record(&odom) {
                return Some(end);
            }
            k += 1;
        }
    }

    fn drive_circle(rec: &mut LapRecorder, r: f64, v: f64, t_end: f64) -> Option<EndReason> {
        drive(rec, Drive::ccw(r, v), t_end)
    }

    #[test]
    fn path_offset_by_half_a_metre_has_mae_half_a_metre() {
        let mut rec = recorder(20.0, LapRules::default());
        // A circle of radius 20.5 driven for half a lap.
        let end = drive_circle(&mut rec, 20.5, 5.0, TAU * 20.5 / 2.0 / 5.0);
        assert_eq!(end, None);
        let stats = rec.finish(EndReason::Timeout);
        assert!(
            (stats.position_deviation_mae_m - 0.5).abs() < 1e-3,
            "mae {}",
            stats.position_deviation_mae_m
        );
        assert!((stats.position_deviation_max_m - 0.5).abs() < 1e-3);
        // Behavior Metrics' formula: every reference point is 0.5 m from the path: 1000^0.5.
        let bm = stats.bm.position_deviation_bm.unwrap();
        assert!((bm - 1000f64.powf(0.5)).abs() < 0.2, "bm {bm}");
        // Half a lap of the reference (the 0.5 m offset path is 2.5 % longer).
        assert!((stats.percentage_completed - 50.0).abs() < 1.5);
        assert!((stats.average_speed_mps - 5.0).abs() < 0.01);
        assert!(!stats.lap_completed && stats.lap_seconds.is_none());
    }

    #[test]
    fn laps_scored_as_they_end_give_the_scores_of_the_whole_path() {
        let rules = LapRules {
            laps: 10,
            ..LapRules::default()
        };
        let mut rec = recorder(20.5, rules);
        // Three and a half laps of a circle half a metre off the reference.
        let lap_s = TAU * 20.5 / 5.0;
        assert_eq!(drive_circle(&mut rec, 20.0, 5.0, 3.5 * lap_s), None);
        assert_eq!(rec.laps_completed(), 3);
        let laps = &rec.laps;
        let times: Vec<f64> = laps.samples().iter().map(|s| s.t).collect();
        let whole = BmScores::of(laps.points(), &laps.path(), &times, laps.lap_end_samples());
        assert_eq!(rec.finish(EndReason::Timeout).bm, whole);
        assert!(whole.position_deviation_bm.is_some());
    }

    #[test]
    fn completes_laps_with_interpolated_times() {
        let rules = LapRules {
            laps: 2,
            ..LapRules::default()
        };
        let mut rec = recorder(10.0, rules);
        let end = drive_circle(&mut rec, 10.0, 4.0, 100.0);
        assert_eq!(end, Some(EndReason::LapCompleted));
        let stats = rec.finish(end.unwrap());
        assert_eq!(stats.laps_completed, 2);
        let lap = TAU * 10.0 / 4.0;
        for t in &stats.lap_times_s {
            assert!((t - lap).abs() < 0.01, "lap time {t}, expected {lap}");
        }
        assert!((stats.lap_seconds.unwrap() - lap).abs() < 0.01);
        assert!((stats.percentage_completed - 200.0).abs() < 0.5);
        assert!(stats.position_deviation_mae_m < 0.01);
        // Driving exactly on the line: every reference point scores 1000^0 = 1.
        assert!((stats.bm.position_deviation_bm.unwrap() - 1.0).abs() < 0.05);
        // Behavior Metrics' completion counts reference points within 5 m of the car: two
        // laps plus the 5 m ahead of where it stopped (8 % of this 63 m lap), and its lap
        // ends when the point 5 m behind the start line is reached, 1.25 s early at 4 m/s.
        let bm_pct = stats.bm.percentage_completed_bm;
        let ahead = 100.0 * 5.0 / (TAU * 10.0);
        assert!(
            (bm_pct - (200.0 + ahead)).abs() < 0.5,
            "bm percentage {bm_pct}"
        );
        let bm_lap = stats.bm.lap_seconds_bm.unwrap();
        assert!(
            (bm_lap - (lap - 5.0 / 4.0)).abs() < 0.1,
            "bm lap {bm_lap}, lap {lap}"
        );
    }

    #[test]
    fn a_lap_started_mid_reference_is_one_whole_lap_from_there() {
        // Started half way round (reference point 1500) at stamp 1000 s.
        let d = Drive {
            from: PI,
            t0: 1000.0,
            ..Drive::ccw(20.0, 5.0)
        };
        let mut rec = recorder(20.0, LapRules::default());
        let end = drive(&mut rec, d, 100.0);
        assert_eq!(end, Some(EndReason::LapCompleted));
        let stats = rec.finish(EndReason::LapCompleted);
        let lap = TAU * 20.0 / 5.0;
        assert!((stats.lap_seconds.unwrap() - lap).abs() < 0.01, "{stats:?}");
        assert!((stats.percentage_completed - 100.0).abs() < 0.5);
        let s = stats.start;
        assert!((s.start_offset_m - PI * 20.0).abs() < 0.01, "{s:?}");
        assert_eq!(s.start_reference_index, Some(1500));
        assert!(!s.reverse);
        assert_eq!(s.direction_from, DirectionFrom::Driven);
        // Times count from the first sample; the clock it read is kept.
        assert_eq!(s.start_time_s, 1000.0);
        assert_eq!(rec.samples()[0].t, 0.0);
        assert!((stats.sim_seconds - lap).abs() < 0.06);
    }

    #[test]
    fn a_run_against_the_references_order_is_found_and_scored_backwards() {
        // Clockwise from a quarter round (reference point 750), on the line.
        let d = Drive {
            from: PI / 2.0,
            clockwise: true,
            ..Drive::ccw(20.0, 5.0)
        };
        let rules = LapRules {
            laps: 2,
            ..LapRules::default()
        };
        let mut rec = recorder(20.0, rules);
        assert_eq!(drive(&mut rec, d, 100.0), Some(EndReason::LapCompleted));
        let stats = rec.finish(EndReason::LapCompleted);
        let lap = TAU * 20.0 / 5.0;
        assert_eq!(stats.laps_completed, 2);
        for t in &stats.lap_times_s {
            assert!((t - lap).abs() < 0.01, "lap time {t}, expected {lap}");
        }
        let s = stats.start;
        assert!(s.reverse, "{s:?}");
        assert_eq!(s.direction_from, DirectionFrom::Driven);
        // In the file's order; along the line driven backwards from its first point.
        assert_eq!(s.start_reference_index, Some(750));
        assert!((s.start_offset_m - 0.75 * TAU * 20.0).abs() < 0.01, "{s:?}");
        // On the line walked backwards every reference point scores 1000^0.
        assert!((stats.bm.position_deviation_bm.unwrap() - 1.0).abs() < 0.05);
        assert!(rec.samples().iter().all(|x| x.progress_m >= -1e-9));
    }

    #[test]
    fn a_start_off_the_line_is_stated_and_the_lap_still_counts() {
        // 1.5 m outside the line (to the right of a counter-clockwise lap), from 60°.
        let d = Drive {
            from: PI / 3.0,
            ..Drive::ccw(21.5, 5.0)
        };
        let mut rec = recorder(20.0, LapRules::default());
        assert_eq!(drive(&mut rec, d, 100.0), Some(EndReason::LapCompleted));
        let stats = rec.finish(EndReason::LapCompleted);
        assert!(
            (stats.start.start_lateral_m + 1.5).abs() < 1e-3,
            "{stats:?}"
        );
        assert_eq!(stats.start.start_reference_index, Some(500));
        // One turn of the larger circle at 5 m/s.
        let lap = TAU * 21.5 / 5.0;
        assert!((stats.lap_seconds.unwrap() - lap).abs() < 0.06);
    }

    #[test]
    fn a_given_direction_is_kept_whichever_way_the_car_goes() {
        let d = Drive {
            clockwise: true,
            ..Drive::ccw(20.0, 5.0)
        };
        let mut rec = LapRecorder::new(&circle(20.0), LapRules::default(), Direction::Forward);
        assert_eq!(drive(&mut rec, d, 40.0), None);
        let stats = rec.finish(EndReason::Timeout);
        assert_eq!(stats.laps_completed, 0);
        assert_eq!(stats.percentage_completed, 0.0);
        assert!(!stats.start.reverse);
        assert_eq!(stats.start.direction_from, DirectionFrom::Given);
        assert!(rec.samples().last().unwrap().progress_m < -100.0);
    }

    #[test]
    fn a_short_run_is_scored_the_way_it_went() {
        // Two metres clockwise: short of the distance that settles the direction.
        let d = Drive {
            clockwise: true,
            ..Drive::ccw(20.0, 1.0)
        };
        let mut rec = recorder(20.0, LapRules::default());
        assert_eq!(drive(&mut rec, d, 2.0), None);
        assert!(rec.reversed());
        let stats = rec.finish(EndReason::Shutdown);
        assert!(stats.start.reverse);
        assert!((rec.samples().last().unwrap().progress_m - 2.0).abs() < 0.01);
    }

    #[test]
    fn standing_still_is_stuck_after_the_window() {
        let mut rec = recorder(10.0, LapRules::default());
        let end = drive_circle(&mut rec, 10.0, 0.0, 30.0);
        assert_eq!(end, Some(EndReason::Stuck));
        let t = rec.samples().last().unwrap().t;
        assert!((t - 10.0).abs() < 0.06, "stuck declared at {t}");
    }

    #[test]
    fn leaving_the_road_ends_the_run() {
        let mut rec = recorder(10.0, LapRules::default());
        // Radius 13.5: 3.5 m outside the line, beyond the 3 m half road.
        assert_eq!(
            drive_circle(&mut rec, 13.5, 4.0, 10.0),
            Some(EndReason::LeftRoad)
        );
    }
}
