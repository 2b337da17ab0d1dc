//! Steering error by how hard a frame turns: the network's yaw rate against a dataset's
//! labels, split by the label's |w|. One MSE over a dataset is dominated by the straights most
//! frames show; a network that answers strong turns short (the turns a car off the line needs
//! to get back) hides there, and real camera frames of a circuit ask for those turns far more
//! often than a lap on the line does.

use serde::Serialize;

/// Where the |w| bands start, rad/s: driving straight, ordinary curves, strong turns.
pub const TURN_BANDS: [f64; 3] = [0.0, 0.5, 2.0];

/// The steering error on the frames of one band of |w_label|.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TurnBand {
    /// Smallest |w_label| in the band, rad/s.
    pub abs_w_from: f64,
    /// |w_label| the band stops short of, rad/s; none for the last band.
    pub abs_w_to: Option<f64>,
    /// Frames in the band.
    pub samples: usize,
    /// Median |w − w_label|, rad/s (none without frames).
    pub median_abs_error_rad_s: Option<f64>,
    /// Least-squares slope of w on w_label through the origin: 1 answers the turns in full,
    /// below 1 answers them short (none without frames or with every label zero).
    pub gain: Option<f64>,
}

/// Collects (label, answer) pairs of w and splits them into [`TURN_BANDS`].
///
/// Labels beyond the range the network can answer (its output mapping's) are first brought
/// to that range: the band is chosen by the label as recorded, the error measured against
/// what the network could have said.
#[derive(Debug, Clone)]
pub struct TurnErrors {
    range: (f64, f64),
    pairs: Vec<(f64, f64)>,
}

impl TurnErrors {
    /// Errors against labels limited to `[w_min, w_max]`, rad/s.
    pub fn new(w_min: f64, w_max: f64) -> Self {
        TurnErrors {
            range: (w_min.min(w_max), w_min.max(w_max)),
            pairs: Vec::new(),
        }
    }

    /// One frame: the label's w and the network's, rad/s.
    pub fn add(&mut self, label: f64, answer: f64) {
        self.pairs.push((label, answer));
    }

    /// The bands, in order of |w|.
    pub fn bands(&self) -> Vec<TurnBand> {
        (0..TURN_BANDS.len())
            .map(|k| {
                let from = TURN_BANDS[k];
                let to = TURN_BANDS.get(k + 1).copied();
                let mut errors = Vec::new();
                let (mut cross, mut square) = (0.0, 0.0);
                for &(label, answer) in &self.pairs {
                    let size = label.abs();
                    if size < from || to.is_some_and(|t| size >= t) {
                        continue;
                    }
                    let label = label.clamp(self.range.0, self.range.1);
                    errors.push((answer - label).abs());
                    cross += answer * label;
                    square += label * label;
                }
                errors.sort_by(f64::total_cmp);
                TurnBand {
                    abs_w_from: from,
                    abs_w_to: to,
                    samples: errors.len(),
                    median_abs_error_rad_s: median(&errors),
                    gain: (square > 0.0).then(|| cross / square),
                }
            })
            .collect()
    }
}

/// The median of sorted values.
fn median(sorted: &[f64]) -> Option<f64> {
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some(0.5 * (sorted[n / 2 - 1] + sorted[n / 2])),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_fall_in_the_band_of_their_label_and_short_answers_show_in_the_gain() {
        let mut t = TurnErrors::new(-4.5, 4.5);
        // Straight: answered within 0.1 and 0.3.
        t.add(0.1, 0.2);
        t.add(-0.2, 0.1);
        // Curves: answered in full.
        t.add(1.0, 1.0);
        t.add(-1.5, -1.5);
        // Strong turns answered at two thirds; one beyond the network's range.
        t.add(3.0, 2.0);
        t.add(-3.0, -2.0);
        t.add(-6.0, -3.0);
        let bands = t.bands();
        assert_eq!(bands.len(), 3);
        assert_eq!(
            bands.iter().map(|b| b.samples).collect::<Vec<_>>(),
            [2, 2, 3]
        );
        assert!((bands[0].median_abs_error_rad_s.unwrap() - 0.2).abs() < 1e-12);
        assert_eq!(bands[1].median_abs_error_rad_s, Some(0.0));
        assert!((bands[1].gain.unwrap() - 1.0).abs() < 1e-12);
        // -6 counts as -4.5: errors 1, 1, 1.5; gain (6 + 6 + 13.5) / (9 + 9 + 20.25).
        assert_eq!(bands[2].median_abs_error_rad_s, Some(1.0));
        assert!((bands[2].gain.unwrap() - 25.5 / 38.25).abs() < 1e-12);
        assert_eq!((bands[2].abs_w_from, bands[2].abs_w_to), (2.0, None));
    }

    #[test]
    fn an_empty_band_has_no_figures() {
        let mut t = TurnErrors::new(4.5, -4.5);
        t.add(0.0, 0.3);
        let bands = t.bands();
        assert_eq!(bands[0].samples, 1);
        assert_eq!(bands[0].gain, None, "every label zero: no slope");
        assert_eq!(bands[2].samples, 0);
        assert_eq!(bands[2].median_abs_error_rad_s, None);
    }
}
