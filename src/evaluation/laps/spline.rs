//! The natural cubic spline of a sampled planar path over its sample index, as SciPy's
//! `CubicSpline(t, x, bc_type='natural')` fits it for `t = 0, 1, …, n-1`: second derivative
//! zero at both ends, and beyond them the end pieces' cubics extended (SciPy extrapolates).

use crate::base::geometry::Vec2;

/// One coordinate's spline: per knot the value, first-order coefficient and second derivative.
#[derive(Debug, Clone)]
struct Axis {
    y: Vec<f64>,
    b: Vec<f64>,
    m: Vec<f64>,
}

impl Axis {
    /// Fits values `y` at unit-spaced knots (at least two).
    fn fit(y: Vec<f64>) -> Axis {
        let n = y.len();
        // Second derivatives m: m[0] = m[n-1] = 0 and, inside, the tridiagonal system
        // m[i-1] + 4 m[i] + m[i+1] = 6 (y[i+1] - 2 y[i] + y[i-1]) (unit spacing), solved by
        // the Thomas algorithm.
        let mut m = vec![0.0; n];
        if n > 2 {
            let inner = n - 2;
            let mut c = vec![0.0; inner];
            let mut d = vec![0.0; inner];
            for k in 0..inner {
                let i = k + 1;
                let rhs = 6.0 * (y[i + 1] - 2.0 * y[i] + y[i - 1]);
                if k == 0 {
                    c[k] = 1.0 / 4.0;
                    d[k] = rhs / 4.0;
                } else {
                    let denom = 4.0 - c[k - 1];
                    c[k] = 1.0 / denom;
                    d[k] = (rhs - d[k - 1]) / denom;
                }
            }
            m[inner] = d[inner - 1];
            for k in (0..inner - 1).rev() {
                m[k + 1] = d[k] - c[k] * m[k + 2];
            }
        }
        let b = (0..n - 1)
            .map(|i| (y[i + 1] - y[i]) - (2.0 * m[i] + m[i + 1]) / 6.0)
            .collect();
        Axis { y, b, m }
    }

    /// The value at `t`; outside `[0, n-1]` the end piece's cubic continued.
    fn at(&self, t: f64) -> f64 {
        let last = self.b.len() - 1;
        let i = if t.is_nan() {
            0
        } else {
            (t.floor().max(0.0) as usize).min(last)
        };
        let u = t - i as f64;
        let (mi, mj) = (self.m[i], self.m[i + 1]);
        self.y[i] + u * (self.b[i] + u * (mi / 2.0 + u * (mj - mi) / 6.0))
    }
}

/// The natural cubic spline through a path's points, parameterised by sample index.
#[derive(Debug, Clone)]
pub struct IndexSpline {
    x: Axis,
    y: Axis,
}

impl IndexSpline {
    /// The spline through `points` (`None` for fewer than two points, as SciPy refuses them).
    pub fn fit(points: &[Vec2]) -> Option<IndexSpline> {
        (points.len() >= 2).then(|| IndexSpline {
            x: Axis::fit(points.iter().map(|p| p.x).collect()),
            y: Axis::fit(points.iter().map(|p| p.y).collect()),
        })
    }

    /// The point at parameter `t`.
    pub fn at(&self, t: f64) -> Vec2 {
        Vec2::new(self.x.at(t), self.y.at(t))
    }

    /// The last knot's parameter, `n - 1`.
    pub fn last_t(&self) -> f64 {
        (self.x.y.len() - 1) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_through_its_points() {
        let pts: Vec<Vec2> = (0..20)
            .map(|i| Vec2::new(i as f64 * 0.7, (i as f64 * 0.4).sin()))
            .collect();
        let s = IndexSpline::fit(&pts).unwrap();
        for (i, p) in pts.iter().enumerate() {
            assert!(s.at(i as f64).dist(*p) < 1e-12);
        }
        assert_eq!(s.last_t(), 19.0);
    }

    #[test]
    fn reproduces_a_straight_line_inside_and_beyond_its_ends() {
        let pts: Vec<Vec2> = (0..10).map(|i| Vec2::new(2.0 * i as f64, 1.0)).collect();
        let s = IndexSpline::fit(&pts).unwrap();
        for t in [-3.0, 0.5, 4.25, 8.9, 12.0] {
            assert!(s.at(t).dist(Vec2::new(2.0 * t, 1.0)) < 1e-12, "t {t}");
        }
    }

    #[test]
    fn matches_scipy_natural_spline_values() {
        // scipy.interpolate.CubicSpline([0, 1, 2, 3], [0, 1, 0, 1], bc_type='natural'):
        // m = [0, -4, 4, 0]; at 0.5 → 0.75, at 1.5 → 0.5, at 4 (extrapolated) → 2.0.
        let pts: Vec<Vec2> = [0.0, 1.0, 0.0, 1.0]
            .iter()
            .map(|&y| Vec2::new(0.0, y))
            .collect();
        let s = IndexSpline::fit(&pts).unwrap();
        assert!((s.at(0.5).y - 0.75).abs() < 1e-12, "{}", s.at(0.5).y);
        assert!((s.at(1.5).y - 0.5).abs() < 1e-12);
        assert!((s.at(4.0).y - 2.0).abs() < 1e-12, "{}", s.at(4.0).y);
    }

    #[test]
    fn refuses_a_single_point() {
        assert!(IndexSpline::fit(&[Vec2::new(0.0, 0.0)]).is_none());
    }
}
