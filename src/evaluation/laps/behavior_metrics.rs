//! Behavior Metrics' own lap scores, computed as its `metrics_gazebo.py` computes them, so a
//! run here can be set beside its published tables.
//!
//! Both work on the *raw* reference points (the perfect lap as its file holds them, walked in
//! the driving direction) and the recorded positions, not on this project's smoothed line:
//!
//! - [`position_deviation`]: a natural cubic spline through the recorded positions over their
//!   sample index; the reference is rotated to start at its point nearest the first position;
//!   for each reference point in turn, the spline parameter nearest to it by SciPy's `fmin`
//!   from the previous parameter, or by a global search over the next 100 samples when that
//!   lands farther than 1 m and for the first three points; `1000**d` of each distance `d` is
//!   summed (`position_deviation_total_err`) and averaged (`position_deviation_mae`). The
//!   walk wraps round the reference and stops when the parameter passes the path's last
//!   sample but one, or after four steps in a row that moved it by less than 0.01.
//! - [`percentage_completed`]: from the reference point nearest the first position, the
//!   reference is walked both ways; a reference point counts when the current position is
//!   within 5 m of it (then the next reference point is tried against the same position),
//!   else the next position is tried; the larger share of reference points reached, in
//!   percent (above 100 beyond one lap).
//!
//! This project's own figures (mean distance of the positions to the line in metres, and
//! checkpoints reached in order) are computed by [`crate::evaluation::laps::LapRecorder`].

use serde::{Deserialize, Serialize};

use super::minimize::{global_minimum, nelder_mead};
use super::spline::IndexSpline;
use crate::base::geometry::Vec2;

/// Behavior Metrics' scores of one run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BmScores {
    /// Behavior Metrics' `position_deviation_mae`: mean of `1000**d` over the reference
    /// points visited (1 on the line; `None` for a path of fewer than two positions).
    pub position_deviation_bm: Option<f64>,
    /// Behavior Metrics' `position_deviation_total_err`: the sum of the same terms.
    pub position_deviation_bm_total_err: Option<f64>,
    /// Behavior Metrics' `percentage_completed`: reference points reached within 5 m, in
    /// percent of the reference.
    pub percentage_completed_bm: f64,
    /// Behavior Metrics' `lap_seconds`: time of the position at which the whole reference
    /// had been reached, from the first position (`None` unless `percentage_completed_bm`
    /// exceeds 100).
    pub lap_seconds_bm: Option<f64>,
}

impl BmScores {
    /// The scores of `path` (positions with their times `t`, in order) against `reference`;
    /// `lap_ends` are the indices of the positions at which each lap was completed.
    ///
    /// The deviation is scored lap by lap (see [`position_deviation_by_lap`]); a run of one
    /// lap, as Behavior Metrics' experiments are, is scored whole, exactly as it scores it.
    pub fn of(reference: &[Vec2], path: &[Vec2], t: &[f64], lap_ends: &[usize]) -> BmScores {
        Self::of_scored(reference, path, t, lap_ends, &LapDeviations::default())
    }

    /// [`BmScores::of`], with the deviations of the laps already `scored` taken from there.
    pub fn of_scored(
        reference: &[Vec2],
        path: &[Vec2],
        t: &[f64],
        lap_ends: &[usize],
        scored: &LapDeviations,
    ) -> BmScores {
        let deviation = scored.whole(reference, path, lap_ends);
        let (percentage, lap_index) = percentage_completed(reference, path);
        // Behavior Metrics reads the lap's end from its clock samples at the same fraction
        // of the recording; positions carry their own times here.
        let lap_seconds_bm = lap_index
            .filter(|_| percentage > 100.0)
            .and_then(|i| Some(t.get(i)? - t.first()?));
        BmScores {
            position_deviation_bm: deviation.map(|d| d.mean),
            position_deviation_bm_total_err: deviation.map(|d| d.total),
            percentage_completed_bm: percentage,
            lap_seconds_bm,
        }
    }
}

/// Behavior Metrics' position deviation of a path.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Deviation {
    /// Mean of `1000**d` over the reference points visited (`position_deviation_mae`).
    pub mean: f64,
    /// Their sum (`position_deviation_total_err`).
    pub total: f64,
    /// Reference points visited.
    pub points: usize,
}

/// Index of the point of `points` nearest `p`, considering only those nearer than `within`
/// (Behavior Metrics starts its searches at 100 m); `None` when there is none.
pub(super) fn nearest(points: &[Vec2], p: Vec2, within: f64) -> Option<usize> {
    let mut best = (within, None);
    for (i, q) in points.iter().enumerate() {
        let d = q.dist(p);
        if d < best.0 {
            best = (d, Some(i));
        }
    }
    best.1
}

/// Behavior Metrics' deviation of a path of several laps: each lap (the positions from one
/// lap's end, `lap_ends[k]`, to the next, sharing the boundary position) scored as its own
/// path, and the terms of all laps summed and averaged together. A part after the last lap
/// end counts as one more lap when it holds at least two positions.
///
/// Behavior Metrics' local search starts with a step of 5 % of the previous parameter: on one
/// lap that is a few metres, but dozens of laps into a long recording it spans several laps,
/// lands on any of them, and the walk along the path no longer ends. Scoring lap by lap keeps
/// its procedure where it was designed to work; a run of one lap is scored whole.
pub fn position_deviation_by_lap(
    reference: &[Vec2],
    path: &[Vec2],
    lap_ends: &[usize],
) -> Option<Deviation> {
    LapDeviations::default().whole(reference, path, lap_ends)
}

/// The deviations of a path's parts (see [`position_deviation_by_lap`]) that completed laps
/// close, each scored once: they do not change as a live run goes on, so its checkpoints
/// score only the lap under way, and cost one lap's scoring however long the run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LapDeviations(Vec<Option<Deviation>>);

impl LapDeviations {
    /// The parts of `path` between the bounds of `lap_ends`, in order.
    fn parts(path_len: usize, lap_ends: &[usize]) -> Vec<(usize, usize)> {
        let mut bounds: Vec<usize> = vec![0];
        bounds.extend(lap_ends.iter().copied().filter(|&i| i > 0 && i < path_len));
        bounds.push(path_len - usize::from(path_len > 0));
        bounds.dedup();
        bounds.windows(2).map(|w| (w[0], w[1])).collect()
    }

    /// Scores the parts of `path` closed by one of `lap_ends` that are not scored yet.
    pub fn update(&mut self, reference: &[Vec2], path: &[Vec2], lap_ends: &[usize]) {
        for (k, (from, to)) in Self::parts(path.len(), lap_ends).into_iter().enumerate() {
            if k < self.0.len() {
                continue;
            }
            if !lap_ends.contains(&to) {
                break;
            }
            let part = &path[from..=to];
            self.0.push(
                (part.len() >= 2)
                    .then(|| position_deviation(reference, part))
                    .flatten(),
            );
        }
    }

    /// The deviation of the whole `path`, lap by lap, the parts scored here taken as they
    /// are (`path` and `lap_ends` must extend the ones they were scored on).
    pub fn whole(
        &self,
        reference: &[Vec2],
        path: &[Vec2],
        lap_ends: &[usize],
    ) -> Option<Deviation> {
        let mut whole: Option<Deviation> = None;
        for (k, (from, to)) in Self::parts(path.len(), lap_ends).into_iter().enumerate() {
            let part = &path[from..=to];
            if part.len() < 2 {
                continue;
            }
            let scored = match self.0.get(k) {
                Some(d) => *d,
                None => position_deviation(reference, part),
            };
            if let Some(d) = scored {
                let sum = whole.get_or_insert(Deviation {
                    mean: 0.0,
                    total: 0.0,
                    points: 0,
                });
                sum.total += d.total;
                sum.points += d.points;
            }
        }
        if whole.is_none() {
            return position_deviation(reference, path);
        }
        whole.map(|mut d| {
            d.mean = if d.points > 0 {
                d.total / d.points as f64
            } else {
                0.0
            };
            d
        })
    }
}

/// Behavior Metrics' `position_deviation_mae` and `position_deviation_total_err` of `path`
/// against the raw `reference` points (in driving order). `None` for a path of fewer than
/// two positions or an empty reference. A run whose first step already stops the walk
/// scores zero, as Behavior Metrics reports it.
pub fn position_deviation(reference: &[Vec2], path: &[Vec2]) -> Option<Deviation> {
    let spline = IndexSpline::fit(path)?;
    if reference.is_empty() {
        return None;
    }
    // Behavior Metrics rotates its lists at the nearest point within 100 m, and at its last
    // point (Python's index -1) when none is that near.
    let start = nearest(reference, path[0], 100.0).unwrap_or(reference.len() - 1);
    let last_t = spline.last_t();
    let (mut previous_t, mut same_t, mut k) = (0.0f64, 0u32, 0usize);
    let (mut total, mut points) = (0.0, 0usize);
    loop {
        let r = reference[(start + k) % reference.len()];
        let distance = |t: f64| spline.at(t).dist(r);
        let (mut t, mut d) = nelder_mead(distance, previous_t);
        if d > 1.0 || k < 3 {
            (t, d) = global_minimum(distance, previous_t, previous_t + 100.0);
        }
        if t > last_t - 1.0 {
            break;
        }
        if (t - previous_t).abs() < 0.01 {
            same_t += 1;
            if same_t > 3 {
                break;
            }
        } else {
            same_t = 0;
        }
        previous_t = t;
        total += 1000f64.powf(d);
        points += 1;
        k += 1;
    }
    Some(Deviation {
        mean: if points > 0 {
            total / points as f64
        } else {
            0.0
        },
        total,
        points,
    })
}

/// Behavior Metrics' `percentage_completed` of `path` against the raw `reference` points,
/// and the index of the position at which the whole reference had been reached (its
/// `lap_checkpoint`), if it was.
///
/// Walking backwards, Behavior Metrics' code skips the reference's first point once it wraps
/// round; walking forwards from the last point it would fail, where this continues at the
/// first. Both are kept otherwise step for step.
pub fn percentage_completed(reference: &[Vec2], path: &[Vec2]) -> (f64, Option<usize>) {
    let n = reference.len();
    if n == 0 || path.is_empty() {
        return (0.0, None);
    }
    let start = nearest(reference, path[0], 100.0).unwrap_or(0) as i64;
    let mut lap = None;
    let mut walk = |step: i64| -> f64 {
        let mut reached = 1usize;
        let mut i = 1usize;
        let mut j = start + step;
        if j >= n as i64 {
            j = 0;
        }
        while i < path.len() {
            // A negative index counts from the end, as in Python.
            let at = if j < 0 { j + n as i64 } else { j } as usize;
            if reference[at].dist(path[i]) < 5.0 {
                reached += 1;
                j += step;
                if reached == n {
                    lap = Some(i);
                }
                if step > 0 && j >= n as i64 {
                    j = 0;
                } else if step < 0 && j <= 0 {
                    j = n as i64 - 1;
                }
            } else {
                i += 1;
            }
        }
        100.0 * reached as f64 / n as f64
    };
    let forward = walk(1);
    let backward = walk(-1);
    (forward.max(backward), lap)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn straight(n: usize, step: f64, y: f64) -> Vec<Vec2> {
        (0..n).map(|i| Vec2::new(i as f64 * step, y)).collect()
    }

    #[test]
    fn a_path_offset_by_d_scores_1000_to_the_d() {
        // Reference along y = 0 every metre for 50 m; the path along y = d every 0.5 m.
        for d in [0.0, 0.1, 0.25, 0.4] {
            let reference = straight(51, 1.0, 0.0);
            let path = straight(101, 0.5, d);
            let dev = position_deviation(&reference, &path).unwrap();
            // Nelder–Mead stops within 1e-4 of the nearest distance: 1000^1e-4 = 1 + 7e-4.
            let want = 1000f64.powf(d);
            assert!((dev.mean / want - 1.0).abs() < 1e-3, "d {d}: {dev:?}");
            assert!((dev.total / (dev.points as f64 * want) - 1.0).abs() < 1e-3);
            // The walk ends where the parameter passes the last sample but one: x ≤ 49.5.
            assert_eq!(dev.points, 50, "d {d}");
        }
    }

    #[test]
    fn a_path_that_leaves_the_reference_is_scored_up_to_where_it_left() {
        // The path follows the reference 0.1 m off for 30 m, then turns away for 10 m: the
        // global search finds nothing within 1 m, the parameter runs to the path's end.
        let reference = straight(101, 1.0, 0.0);
        let mut path = straight(61, 0.5, 0.1);
        path.extend((1..=20).map(|i| Vec2::new(30.0, 0.1 - i as f64 * 0.5)));
        let dev = position_deviation(&reference, &path).unwrap();
        assert!(dev.points >= 30 && dev.points < 40, "{dev:?}");
    }

    #[test]
    fn too_short_a_path_has_no_score() {
        assert!(position_deviation(&straight(10, 1.0, 0.0), &[Vec2::new(0.0, 0.0)]).is_none());
        assert!(position_deviation(&[], &straight(10, 1.0, 0.0)).is_none());
    }

    #[test]
    fn percentage_counts_reference_points_within_five_metres() {
        // Reference of 100 points a metre apart; the path drives 0..40 m, 1 m off: reference
        // points up to 44 m lie within 5 m of some position in order.
        let reference = straight(100, 1.0, 0.0);
        let path = straight(81, 0.5, 1.0);
        let (pct, lap) = percentage_completed(&reference, &path);
        // sqrt(5² - 1²) = 4.90: points 0..=44 from the last position at x = 40.
        assert!((pct - 45.0).abs() < 1e-9, "pct {pct}");
        assert_eq!(lap, None);
    }

    #[test]
    fn a_closed_lap_counts_past_one_hundred_percent() {
        // A circle of 200 reference points, driven 1.1 times round at 0.2 m off.
        let circle = |r: f64, n: usize, turns: f64| -> Vec<Vec2> {
            (0..n)
                .map(|i| {
                    let a = std::f64::consts::TAU * turns * i as f64 / n as f64;
                    Vec2::new(r * a.cos(), r * a.sin())
                })
                .collect()
        };
        let reference = circle(30.0, 200, 1.0);
        let path = circle(30.2, 1100, 1.1);
        let (pct, lap) = percentage_completed(&reference, &path);
        assert!(pct > 100.0 && pct < 115.0, "pct {pct}");
        // The whole reference was reached a little before one turn.
        let lap = lap.unwrap();
        assert!((930..1000).contains(&lap), "lap at {lap}");
        let t: Vec<f64> = (0..path.len()).map(|i| i as f64 * 0.05).collect();
        let scores = BmScores::of(&reference, &path, &t, &[]);
        assert_eq!(scores.lap_seconds_bm, Some(t[lap]));
        assert!((scores.position_deviation_bm.unwrap() - 1000f64.powf(0.2)).abs() < 0.01);
    }
}
