//! Position deviation between a driven path and a reference line.
//!
//! The project's own deviation (the mean distance of the odometry samples to the reference
//! line, in metres) is accumulated online by [`crate::evaluation::laps::LapRecorder`]. Behavior Metrics'
//! ([`bm_position_deviation`]) goes the other way — from each reference point to the driven
//! path — and averages `1000**d`, which is why its published "MAE" values are 4–17 rather than
//! metres.

use crate::base::geometry::{closest_on_segment, Vec2};

/// Behavior Metrics' `position_deviation_mae`, on a polyline instead of their spline.
///
/// As in `behavior_metrics/utils/metrics.py`: the reference points are rotated to start at the
/// one nearest the path's first point and visited in order (wrapping around for further laps);
/// each is matched to the nearest point of the driven path, searching forward from the previous
/// match (so a path passing a place twice is matched in order); `1000**d` of that distance d is
/// accumulated; the walk stops once the match reaches the end of the driven path. Returns the
/// mean, or `None` for a path of fewer than two points.
pub fn bm_position_deviation(reference: &[Vec2], path: &[Vec2]) -> Option<f64> {
    if path.len() < 2 || reference.is_empty() {
        return None;
    }
    let start = reference
        .iter()
        .enumerate()
        .min_by(|a, b| a.1.dist(path[0]).total_cmp(&b.1.dist(path[0])))
        .map(|(i, _)| i)?;
    let last_segment = path.len() - 2;
    // Search this many driven segments past the previous match (Behavior Metrics searches 100
    // spline samples ahead; at 20 Hz odometry that is 5 s of driving).
    const AHEAD: usize = 100;
    let mut matched = 0usize;
    let mut sum = 0.0;
    let mut count = 0usize;
    let (mut last_position, mut stalled) = (0.0f64, 0u32);
    // At most as many visits as the path could cover laps, plus one.
    let max_visits = reference.len() * (path.len() / 2 + 1);
    for k in 0..max_visits {
        let r = reference[(start + k) % reference.len()];
        let mut best = (f64::INFINITY, matched, 0.0);
        for seg in matched..=(matched + AHEAD).min(last_segment) {
            let (t, d) = closest_on_segment(r, path[seg], path[seg + 1]);
            if d < best.0 {
                best = (d, seg, t);
            }
        }
        let (d, seg, t) = best;
        // Behavior Metrics stops once the match lies within the last sample interval…
        if seg == last_segment && t > 0.0 && k > 0 {
            break;
        }
        // …or once it stops advancing along the path (the path left the reference: the
        // rest of the reference has no counterpart), after four matches in the same place.
        let position = seg as f64 + t;
        if k > 0 && (position - last_position).abs() < 0.01 {
            stalled += 1;
            if stalled > 3 {
                break;
            }
        } else {
            stalled = 0;
        }
        last_position = position;
        matched = seg;
        sum += 1000f64.powf(d);
        count += 1;
    }
    (count > 0).then(|| sum / count as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn straight_offset_reference() {
        // Reference along y = 0, path along y = 0.3, both 0..50 m.
        let reference: Vec<Vec2> = (0..=500).map(|i| Vec2::new(i as f64 * 0.1, 0.0)).collect();
        let path: Vec<Vec2> = (0..=100).map(|i| Vec2::new(i as f64 * 0.5, 0.3)).collect();
        let bm = bm_position_deviation(&reference, &path).unwrap();
        assert!((bm - 1000f64.powf(0.3)).abs() < 1e-6, "bm {bm}");
    }

    #[test]
    fn a_path_that_leaves_the_reference_is_scored_up_to_where_it_left() {
        // Reference along y = 0 for 100 m; the path follows it for 30 m at 0.1 m, then turns
        // away at right angles for 10 m.
        let reference: Vec<Vec2> = (0..=1000).map(|i| Vec2::new(i as f64 * 0.1, 0.0)).collect();
        let mut path: Vec<Vec2> = (0..=60).map(|i| Vec2::new(i as f64 * 0.5, 0.1)).collect();
        path.extend((1..=20).map(|i| Vec2::new(30.0, 0.1 - i as f64 * 0.5)));
        let bm = bm_position_deviation(&reference, &path).unwrap();
        // About 30 m of reference at 0.1 m (1000^0.1 = 2.0) and a few points past the turn.
        assert!((bm - 1000f64.powf(0.1)).abs() < 0.2, "bm {bm}");
    }

    #[test]
    fn one_bad_stretch_dominates_the_bm_score() {
        // 1000**d is steep: 10 % of the reference 1 m off costs more than 90 % on the line.
        let reference: Vec<Vec2> = (0..=1000).map(|i| Vec2::new(i as f64 * 0.1, 0.0)).collect();
        let path: Vec<Vec2> = (0..=200)
            .map(|i| {
                let x = i as f64 * 0.5;
                Vec2::new(x, if (40.0..50.0).contains(&x) { 1.0 } else { 0.0 })
            })
            .collect();
        let bm = bm_position_deviation(&reference, &path).unwrap();
        assert!(bm > 50.0, "bm {bm}");
    }
}
