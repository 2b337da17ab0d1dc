//! Planar geometry: points, poses and closed polylines (arc length, nearest point, resampling).
//!
//! Everything the simulator and the lap statistics measure against a line goes through
//! [`ClosedPolyline`], so there is one definition of "distance to the line" in the project.

use serde::{Deserialize, Serialize};

/// A point or vector in the plane, metres.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Vec2 {
    /// x (Gazebo world frame: east).
    pub x: f64,
    /// y (Gazebo world frame: north).
    pub y: f64,
}

impl Vec2 {
    /// A point from its coordinates.
    pub const fn new(x: f64, y: f64) -> Self {
        Self { x, y }
    }
    /// Euclidean length.
    pub fn norm(self) -> f64 {
        self.x.hypot(self.y)
    }
    /// Distance to another point.
    pub fn dist(self, o: Vec2) -> f64 {
        (self - o).norm()
    }
    /// Dot product.
    pub fn dot(self, o: Vec2) -> f64 {
        self.x * o.x + self.y * o.y
    }
    /// z of the cross product: positive when `o` is to the left of `self`.
    pub fn cross(self, o: Vec2) -> f64 {
        self.x * o.y - self.y * o.x
    }
    /// Linear interpolation between `self` (t = 0) and `o` (t = 1).
    pub fn lerp(self, o: Vec2, t: f64) -> Vec2 {
        self + (o - self) * t
    }
    /// True when both coordinates are finite.
    pub fn is_finite(self) -> bool {
        self.x.is_finite() && self.y.is_finite()
    }
}

impl std::ops::Add for Vec2 {
    type Output = Vec2;
    fn add(self, o: Vec2) -> Vec2 {
        Vec2::new(self.x + o.x, self.y + o.y)
    }
}
impl std::ops::Sub for Vec2 {
    type Output = Vec2;
    fn sub(self, o: Vec2) -> Vec2 {
        Vec2::new(self.x - o.x, self.y - o.y)
    }
}
impl std::ops::Mul<f64> for Vec2 {
    type Output = Vec2;
    fn mul(self, k: f64) -> Vec2 {
        Vec2::new(self.x * k, self.y * k)
    }
}

/// Position and heading of the vehicle in the world frame.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Pose2 {
    /// Position, metres.
    pub p: Vec2,
    /// Heading (yaw), radians, counter-clockwise from +x.
    pub yaw: f64,
}

impl Pose2 {
    /// Maps a point given in the body frame (x forward, y left) to the world frame.
    pub fn to_world(&self, local: Vec2) -> Vec2 {
        let (s, c) = self.yaw.sin_cos();
        Vec2::new(
            self.p.x + c * local.x - s * local.y,
            self.p.y + s * local.x + c * local.y,
        )
    }
}

/// Wraps an angle to (-π, π].
pub fn wrap_angle(a: f64) -> f64 {
    let mut a = a % std::f64::consts::TAU;
    if a > std::f64::consts::PI {
        a -= std::f64::consts::TAU;
    } else if a <= -std::f64::consts::PI {
        a += std::f64::consts::TAU;
    }
    a
}

/// Closest point on the segment `a`–`b` to `p`: (parameter t in [0, 1], distance).
pub fn closest_on_segment(p: Vec2, a: Vec2, b: Vec2) -> (f64, f64) {
    let ab = b - a;
    let len2 = ab.dot(ab);
    let t = if len2 > 0.0 {
        ((p - a).dot(ab) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    (t, p.dist(a + ab * t))
}

/// Where a point projects onto a polyline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Projection {
    /// Index of the segment (from vertex `segment` to the next one).
    pub segment: usize,
    /// Arc length of the projected point from vertex 0, metres.
    pub s: f64,
    /// Distance from the point to the line, metres (never negative).
    pub distance: f64,
    /// Signed lateral offset: positive when the point is left of the driving direction.
    pub lateral: f64,
}

/// A closed polyline: the last vertex connects back to the first.
///
/// Vertices are stored once (no repeated closing point); `cumulative[i]` is the arc length at
/// vertex `i` and `length` the full perimeter.
#[derive(Debug, Clone, PartialEq)]
pub struct ClosedPolyline {
    points: Vec<Vec2>,
    cumulative: Vec<f64>,
    length: f64,
}

impl ClosedPolyline {
    /// Builds a closed polyline from at least three distinct, finite points.
    ///
    /// Consecutive duplicates are dropped; the caller validates input before (see
    /// [`crate::evaluation::circuit`]), so this only asserts the invariants in debug builds.
    pub fn new(points: Vec<Vec2>) -> Self {
        let mut pts: Vec<Vec2> = Vec::with_capacity(points.len());
        for p in points {
            if pts.last().is_none_or(|q: &Vec2| q.dist(p) > 1e-9) {
                pts.push(p);
            }
        }
        while pts.len() > 1 && pts[0].dist(pts[pts.len() - 1]) <= 1e-9 {
            pts.pop();
        }
        debug_assert!(
            pts.len() >= 3,
            "a closed polyline needs three distinct points"
        );
        let mut cumulative = Vec::with_capacity(pts.len());
        let mut s = 0.0;
        for i in 0..pts.len() {
            cumulative.push(s);
            s += pts[i].dist(pts[(i + 1) % pts.len()]);
        }
        Self {
            points: pts,
            cumulative,
            length: s,
        }
    }

    /// The vertices, in driving order.
    pub fn points(&self) -> &[Vec2] {
        &self.points
    }
    /// Number of vertices (= number of segments).
    pub fn len(&self) -> usize {
        self.points.len()
    }
    /// Never true for a valid polyline; here for clippy's sake.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }
    /// Perimeter, metres.
    pub fn length(&self) -> f64 {
        self.length
    }
    /// Arc length at vertex `i`.
    pub fn arc_length_at(&self, i: usize) -> f64 {
        self.cumulative[i]
    }
    /// Segment `i` as (start, end).
    pub fn segment(&self, i: usize) -> (Vec2, Vec2) {
        (self.points[i], self.points[(i + 1) % self.points.len()])
    }

    /// Point and unit tangent at arc length `s` (taken modulo the length).
    pub fn at(&self, s: f64) -> (Vec2, Vec2) {
        let s = s.rem_euclid(self.length);
        let i = match self
            .cumulative
            .binary_search_by(|c| c.partial_cmp(&s).unwrap_or(std::cmp::Ordering::Less))
        {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let (a, b) = self.segment(i);
        let seg = b - a;
        let l = seg.norm();
        let t = if l > 0.0 {
            (s - self.cumulative[i]) / l
        } else {
            0.0
        };
        (a.lerp(b, t), seg * (1.0 / l.max(1e-12)))
    }

    fn project_on(&self, p: Vec2, i: usize) -> Projection {
        let (a, b) = self.segment(i);
        let (t, distance) = closest_on_segment(p, a, b);
        let seg = b - a;
        let side = seg.cross(p - a);
        Projection {
            segment: i,
            s: self.cumulative[i] + t * seg.norm(),
            distance,
            lateral: if side >= 0.0 { distance } else { -distance },
        }
    }

    /// Nearest point of the whole line to `p` (linear scan over all segments).
    pub fn project(&self, p: Vec2) -> Projection {
        let mut best = self.project_on(p, 0);
        for i in 1..self.points.len() {
            let (a, b) = self.segment(i);
            // Cheap reject: the segment cannot be closer than the distance to its start minus
            // its length.
            if p.dist(a) - a.dist(b) > best.distance {
                continue;
            }
            let c = self.project_on(p, i);
            if c.distance < best.distance {
                best = c;
            }
        }
        best
    }

    /// Nearest point among the segments within `window` segments of `hint` (both ways).
    ///
    /// Used to track a moving vehicle: it cannot jump to a distant part of the circuit that
    /// happens to pass close by.
    pub fn project_near(&self, p: Vec2, hint: usize, window: usize) -> Projection {
        let n = self.points.len();
        if 2 * window + 1 >= n {
            return self.project(p);
        }
        let mut best = self.project_on(p, hint % n);
        for k in 1..=window {
            for i in [(hint + k) % n, (hint + n - k) % n] {
                let c = self.project_on(p, i);
                if c.distance < best.distance {
                    best = c;
                }
            }
        }
        best
    }

    /// Resamples to points evenly spaced by (about) `spacing` metres along the line.
    pub fn resampled(&self, spacing: f64) -> ClosedPolyline {
        let n = (self.length / spacing).round().max(3.0) as usize;
        let step = self.length / n as f64;
        let pts = (0..n).map(|k| self.at(k as f64 * step).0).collect();
        ClosedPolyline::new(pts)
    }

    /// Smooths with a circular Gaussian of standard deviation `sigma` metres.
    ///
    /// Expects evenly spaced vertices (call [`Self::resampled`] first). The kernel wraps
    /// around the loop, so the start of the circuit is smoothed like any other point.
    pub fn smoothed(&self, sigma: f64) -> ClosedPolyline {
        let n = self.points.len();
        let spacing = self.length / n as f64;
        let sigma_n = sigma / spacing;
        if sigma_n < 0.3 {
            return self.clone();
        }
        let half = ((3.0 * sigma_n).ceil() as usize).min(n / 2 - 1);
        let weights: Vec<f64> = (0..=half)
            .map(|k| (-0.5 * (k as f64 / sigma_n).powi(2)).exp())
            .collect();
        let total: f64 = weights[0] + 2.0 * weights[1..].iter().sum::<f64>();
        let pts = (0..n)
            .map(|i| {
                let mut acc = self.points[i] * weights[0];
                for (k, w) in weights.iter().enumerate().skip(1) {
                    acc = acc + (self.points[(i + k) % n] + self.points[(i + n - k) % n]) * *w;
                }
                acc * (1.0 / total)
            })
            .collect();
        ClosedPolyline::new(pts)
    }

    /// The same line driven the other way round, starting from the same vertex.
    pub fn reversed(&self) -> ClosedPolyline {
        let mut pts = self.points.clone();
        pts[1..].reverse();
        ClosedPolyline::new(pts)
    }

    /// Signed area (positive when the loop runs counter-clockwise).
    pub fn signed_area(&self) -> f64 {
        let n = self.points.len();
        (0..n)
            .map(|i| self.points[i].cross(self.points[(i + 1) % n]))
            .sum::<f64>()
            * 0.5
    }

    /// Curvature (1/m, positive turning left) at each vertex, from the circle through it and
    /// the vertices `k` steps either side.
    pub fn curvature(&self, k: usize) -> Vec<f64> {
        let n = self.points.len();
        (0..n)
            .map(|i| {
                let a = self.points[(i + n - k % n) % n];
                let b = self.points[i];
                let c = self.points[(i + k) % n];
                let cross = (b - a).cross(c - b);
                let d = a.dist(b) * b.dist(c) * a.dist(c);
                if d > 0.0 {
                    2.0 * cross / d
                } else {
                    0.0
                }
            })
            .collect()
    }

    /// Axis-aligned bounds: (min, max).
    pub fn bounds(&self) -> (Vec2, Vec2) {
        let mut lo = Vec2::new(f64::INFINITY, f64::INFINITY);
        let mut hi = Vec2::new(f64::NEG_INFINITY, f64::NEG_INFINITY);
        for p in &self.points {
            lo = Vec2::new(lo.x.min(p.x), lo.y.min(p.y));
            hi = Vec2::new(hi.x.max(p.x), hi.y.max(p.y));
        }
        (lo, hi)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::f64::consts::{PI, TAU};

    pub(crate) fn circle(r: f64, n: usize) -> ClosedPolyline {
        ClosedPolyline::new(
            (0..n)
                .map(|i| {
                    let a = TAU * i as f64 / n as f64;
                    Vec2::new(r * a.cos(), r * a.sin())
                })
                .collect(),
        )
    }

    #[test]
    fn circle_length_and_projection() {
        let c = circle(10.0, 2000);
        assert!((c.length() - TAU * 10.0).abs() < 0.01);
        let p = c.project(Vec2::new(0.0, 12.0));
        assert!((p.distance - 2.0).abs() < 1e-3);
        // Counter-clockwise loop: the outside is on the right.
        assert!(p.lateral < 0.0);
        let q = c.project(Vec2::new(0.0, 9.5));
        assert!((q.lateral - 0.5).abs() < 1e-3);
        assert!((q.s - TAU * 10.0 / 4.0).abs() < 0.05);
    }

    #[test]
    fn windowed_projection_matches_global_near_the_hint() {
        let c = circle(10.0, 500);
        let p = Vec2::new(-10.3, 0.1);
        let g = c.project(p);
        let w = c.project_near(p, g.segment + 3, 10);
        assert_eq!(g.segment, w.segment);
    }

    #[test]
    fn resample_keeps_shape_and_spacing() {
        let c = circle(5.0, 37).resampled(0.1);
        let n = c.len();
        let spacing = c.length() / n as f64;
        assert!((spacing - 0.1).abs() < 0.01);
        for i in 0..n {
            let d = c.points()[i].dist(c.points()[(i + 1) % n]);
            assert!((d - spacing).abs() < 0.01, "uneven spacing {d}");
        }
    }

    #[test]
    fn smoothing_a_circle_barely_moves_it() {
        let c = circle(20.0, 1257).smoothed(0.5);
        for p in c.points() {
            assert!((p.norm() - 20.0).abs() < 0.01);
        }
    }

    #[test]
    fn reversed_keeps_start_and_flips_orientation() {
        let c = circle(3.0, 100);
        let r = c.reversed();
        assert_eq!(c.points()[0], r.points()[0]);
        assert!(c.signed_area() > 0.0 && r.signed_area() < 0.0);
        assert!((c.length() - r.length()).abs() < 1e-9);
    }

    #[test]
    fn curvature_of_a_circle() {
        let c = circle(4.0, 400);
        for k in c.curvature(5) {
            assert!((k - 0.25).abs() < 1e-3);
        }
    }

    #[test]
    fn wrap_angle_range() {
        assert!((wrap_angle(3.0 * PI) - PI).abs() < 1e-12);
        assert!((wrap_angle(-PI / 2.0 - TAU) + PI / 2.0).abs() < 1e-12);
    }

    #[test]
    fn pose_to_world() {
        let pose = Pose2 {
            p: Vec2::new(1.0, 2.0),
            yaw: PI / 2.0,
        };
        let w = pose.to_world(Vec2::new(1.0, 0.5));
        assert!((w.x - 0.5).abs() < 1e-12 && (w.y - 3.0).abs() < 1e-12);
    }
}
