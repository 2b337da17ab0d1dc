//! The project's own circuits, each with a different character, defined in closed form.
//!
//! Two are periodic cubic B-splines through hand-placed control points (the curve is smooth by
//! construction and always closes); the third is a polar curve of low harmonics.

use crate::base::geometry::Vec2;

/// A circuit shipped with the program.
#[derive(Debug, Clone, Copy)]
pub struct BuiltinCircuit {
    /// Name passed to `--circuit`.
    pub name: &'static str,
    /// One line on its character.
    pub character: &'static str,
    /// Generates the lap (dense, unevenly spaced: it is resampled on load).
    pub points: fn() -> Vec<Vec2>,
}

/// Every built-in circuit, the default first.
pub const BUILTIN_CIRCUITS: &[BuiltinCircuit] = &[
    BuiltinCircuit {
        name: "lakeside",
        character: "gentle: long bends, tightest radius ~27 m",
        points: lakeside,
    },
    BuiltinCircuit {
        name: "switchback",
        character: "technical: two hairpins (~5 m radius) and a chicane between parallel straights",
        points: switchback,
    },
    BuiltinCircuit {
        name: "highland",
        character: "fast: flowing sweepers of 14-60 m radius, 840 m",
        points: highland,
    },
];

/// Looks a built-in circuit up by name.
pub fn find(name: &str) -> Option<&'static BuiltinCircuit> {
    BUILTIN_CIRCUITS.iter().find(|b| b.name == name)
}

/// Samples a closed uniform cubic B-spline, `per` points per control-point span.
fn bspline(ctrl: &[(f64, f64)], per: usize) -> Vec<Vec2> {
    let n = ctrl.len();
    let p = |i: usize| Vec2::new(ctrl[i % n].0, ctrl[i % n].1);
    let mut out = Vec::with_capacity(n * per);
    for i in 0..n {
        let (p0, p1, p2, p3) = (p(i + n - 1), p(i), p(i + 1), p(i + 2));
        for k in 0..per {
            let t = k as f64 / per as f64;
            let b0 = (1.0 - t).powi(3) / 6.0;
            let b1 = (3.0 * t.powi(3) - 6.0 * t * t + 4.0) / 6.0;
            let b2 = (-3.0 * t.powi(3) + 3.0 * t * t + 3.0 * t + 1.0) / 6.0;
            let b3 = t.powi(3) / 6.0;
            out.push(p0 * b0 + p1 * b1 + p2 * b2 + p3 * b3);
        }
    }
    out
}

fn lakeside() -> Vec<Vec2> {
    bspline(
        &[
            (0.0, 0.0),
            (60.0, -6.0),
            (110.0, 4.0),
            (140.0, 34.0),
            (132.0, 76.0),
            (92.0, 96.0),
            (40.0, 84.0),
            (-8.0, 96.0),
            (-46.0, 72.0),
            (-52.0, 30.0),
            (-36.0, 4.0),
        ],
        64,
    )
}

fn switchback() -> Vec<Vec2> {
    bspline(
        &[
            (0.0, 0.0),
            (50.0, 0.0),
            (100.0, 0.0),
            (116.0, 0.0),
            (121.0, 9.0),
            (110.0, 17.0),
            (86.0, 16.0),
            (76.0, 19.0),
            (66.0, 15.0),
            (44.0, 15.0),
            (28.0, 16.0),
            (16.0, 18.0),
            (15.0, 28.0),
            (26.0, 31.0),
            (44.0, 31.0),
            (100.0, 30.0),
            (124.0, 32.0),
            (140.0, 48.0),
            (128.0, 64.0),
            (80.0, 62.0),
            (40.0, 70.0),
            (0.0, 64.0),
            (-24.0, 50.0),
            (-30.0, 24.0),
            (-20.0, 4.0),
        ],
        64,
    )
}

fn highland() -> Vec<Vec2> {
    let n = 4000;
    (0..n)
        .map(|i| {
            let th = std::f64::consts::TAU * i as f64 / n as f64;
            let r = 100.0 + 18.0 * (3.0 * th).sin() + 10.0 * (5.0 * th + 1.0).sin();
            Vec2::new(1.35 * r * th.cos(), r * th.sin())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use crate::evaluation::circuit::{Circuit, RoadGeometry};

    /// Smallest distance between two parts of the line at least `sep` metres apart along it.
    fn clearance(c: &Circuit, sep: f64) -> f64 {
        let pts = c.centre.points();
        let n = pts.len();
        let step = (sep / crate::evaluation::circuit::RESAMPLE_SPACING_M) as usize;
        let mut best = f64::INFINITY;
        for i in (0..n).step_by(5) {
            for j in (i + step..n.saturating_sub(step.saturating_sub(i))).step_by(5) {
                best = best.min(pts[i].dist(pts[j]));
            }
        }
        best
    }

    #[test]
    fn builtins_have_their_advertised_character() {
        let road = RoadGeometry::default();
        let get = |n: &str| Circuit::load(n, road, false).unwrap();
        let (lake, sw, hi) = (get("lakeside"), get("switchback"), get("highland"));
        assert!(lake.min_radius() > 20.0, "lakeside {}", lake.min_radius());
        assert!(
            (4.0..6.0).contains(&sw.min_radius()),
            "switchback {}",
            sw.min_radius()
        );
        assert!(hi.min_radius() > 12.0, "highland {}", hi.min_radius());
        for c in [&lake, &sw, &hi] {
            assert!(
                (300.0..1000.0).contains(&c.length()),
                "{} length {}",
                c.name,
                c.length()
            );
            // Roads never overlap: distinct parts stay more than a road width apart.
            let clr = clearance(c, 40.0);
            assert!(clr > road.road_width + 2.0, "{} clearance {clr}", c.name);
            // Every hairpin is wider than the half road, so edges never fold over.
            assert!(c.min_radius() > road.road_width / 2.0);
        }
    }
}
