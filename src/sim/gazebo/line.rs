//! The red line of a loaded world traced into an ordered centre line, and the road's width
//! measured around it.
//!
//! The red line is every horizontal Lambert triangle on the ground that looks red — pure red
//! (1, 0, 0) paint (Behavior Metrics' `Color_A01`/`Color_A05`) or a red texture; the darker
//! red kerbs of Montreal are not. From a start point the tracer steps 0.2 m along the line's
//! direction, looks across the line there for the red band, and moves to the middle of it,
//! until it is back where it began.
//! The road is the ground material under the line; its width is measured across the line every
//! few metres and the median kept.

use crate::base::geometry::{ClosedPolyline, Vec2};
use crate::sim::scene::{Material, Scene, Shading, Triangle};

/// Step along the line, metres.
const STEP: f64 = 0.2;
/// How far across the line the band is looked for, metres.
const SEARCH: f64 = 0.6;
/// Steps the band may be missing for (a gap in the paint) before tracing gives up.
const MAX_MISSES: usize = 10;
/// Cell of the triangle index, metres (larger on worlds over [`MAX_CELLS_PER_SIDE`] metres).
const CELL: f64 = 1.0;
/// Most cells along a side of the index: its memory stays bounded however far a world spans.
const MAX_CELLS_PER_SIDE: f64 = 2048.0;

/// A traced red line.
#[derive(Debug, Clone, PartialEq)]
pub struct RedLine {
    /// Centre points, every [`STEP`] metres, in driving order, the first at the start.
    pub points: Vec<Vec2>,
    /// Median width of the red band, metres.
    pub line_width: f64,
    /// Median width of the road under it, metres (`None` when no ground lies under the line).
    pub road_width: Option<f64>,
}

/// 2D triangles with a grid over them.
struct Flat {
    tris: Vec<[Vec2; 3]>,
    top: Vec<f64>,
    material: Vec<u32>,
    origin: Vec2,
    /// Side of a cell, metres.
    size: f64,
    cols: usize,
    rows: usize,
    cells: Vec<Vec<u32>>,
}

impl Flat {
    fn new(items: Vec<(&Triangle, [Vec2; 3])>) -> Flat {
        let (mut lo, mut hi) = (Vec2::new(f64::MAX, f64::MAX), Vec2::new(f64::MIN, f64::MIN));
        for (_, t) in &items {
            for p in t {
                lo = Vec2::new(lo.x.min(p.x), lo.y.min(p.y));
                hi = Vec2::new(hi.x.max(p.x), hi.y.max(p.y));
            }
        }
        if items.is_empty() {
            lo = Vec2::new(0.0, 0.0);
            hi = Vec2::new(1.0, 1.0);
        }
        let size = CELL.max((hi.x - lo.x).max(hi.y - lo.y) / MAX_CELLS_PER_SIDE);
        let cols = (((hi.x - lo.x) / size).ceil() as usize).max(1);
        let rows = (((hi.y - lo.y) / size).ceil() as usize).max(1);
        let mut cells = vec![Vec::new(); cols * rows];
        let cell = |v: f64, o: f64, n: usize| (((v - o) / size).max(0.0) as usize).min(n - 1);
        for (i, (_, t)) in items.iter().enumerate() {
            let (x0, x1) = (
                t.iter().map(|p| p.x).fold(f64::MAX, f64::min),
                t.iter().map(|p| p.x).fold(f64::MIN, f64::max),
            );
            let (y0, y1) = (
                t.iter().map(|p| p.y).fold(f64::MAX, f64::min),
                t.iter().map(|p| p.y).fold(f64::MIN, f64::max),
            );
            for r in cell(y0, lo.y, rows)..=cell(y1, lo.y, rows) {
                for c in cell(x0, lo.x, cols)..=cell(x1, lo.x, cols) {
                    cells[r * cols + c].push(i as u32);
                }
            }
        }
        Flat {
            top: items
                .iter()
                .map(|(t, _)| t.p.iter().map(|p| p[2] as f64).fold(f64::MIN, f64::max))
                .collect(),
            material: items.iter().map(|(t, _)| t.material).collect(),
            tris: items.into_iter().map(|(_, t)| t).collect(),
            origin: lo,
            size,
            cols,
            rows,
            cells,
        }
    }

    /// Triangles whose cells the box around `a`–`b` touches.
    fn near(&self, a: Vec2, b: Vec2) -> impl Iterator<Item = usize> + '_ {
        let cell = |v: f64, o: f64, n: usize| {
            (((v - o) / self.size).floor().clamp(0.0, n as f64 - 1.0)) as usize
        };
        let (c0, c1) = (
            cell(a.x.min(b.x), self.origin.x, self.cols),
            cell(a.x.max(b.x), self.origin.x, self.cols),
        );
        let (r0, r1) = (
            cell(a.y.min(b.y), self.origin.y, self.rows),
            cell(a.y.max(b.y), self.origin.y, self.rows),
        );
        let mut seen = std::collections::HashSet::new();
        (r0..=r1)
            .flat_map(move |r| (c0..=c1).map(move |c| r * self.cols + c))
            .flat_map(move |cell| self.cells[cell].iter().map(|&t| t as usize))
            .filter(move |t| seen.insert(*t))
    }

    /// The parts of the segment p + s·d, s in [s0, s1], inside the triangles: (start, end).
    fn spans(&self, p: Vec2, d: Vec2, s0: f64, s1: f64) -> Vec<(f64, f64)> {
        let a = p + d * s0;
        let b = p + d * s1;
        let mut out = Vec::new();
        for t in self.near(a, b) {
            if let Some(span) = clip(&self.tris[t], p, d, s0, s1) {
                out.push(span);
            }
        }
        out
    }

    /// The topmost triangle at `p` and its material.
    fn top_at(&self, p: Vec2) -> Option<u32> {
        self.near(p, p)
            .filter(|&t| inside(&self.tris[t], p))
            .max_by(|&a, &b| self.top[a].total_cmp(&self.top[b]))
            .map(|t| self.material[t])
    }
}

fn cross(a: Vec2, b: Vec2) -> f64 {
    a.x * b.y - a.y * b.x
}

fn inside(t: &[Vec2; 3], p: Vec2) -> bool {
    let s = cross(t[1] - t[0], t[2] - t[0]).signum();
    (0..3).all(|i| s * cross(t[(i + 1) % 3] - t[i], p - t[i]) >= -1e-12)
}

/// The interval of s in [s0, s1] for which p + s·d lies in triangle `t`.
fn clip(t: &[Vec2; 3], p: Vec2, d: Vec2, s0: f64, s1: f64) -> Option<(f64, f64)> {
    let orient = cross(t[1] - t[0], t[2] - t[0]).signum();
    if orient == 0.0 {
        return None;
    }
    let (mut lo, mut hi) = (s0, s1);
    for i in 0..3 {
        let (a, b) = (t[i], t[(i + 1) % 3]);
        // Inside: orient · cross(b − a, x − a) ≥ 0, with x = p + s·d: linear in s.
        let e = b - a;
        let c0 = orient * cross(e, p - a);
        let c1 = orient * cross(e, d);
        if c1.abs() < 1e-15 {
            if c0 < 0.0 {
                return None;
            }
        } else {
            let s = -c0 / c1;
            if c1 > 0.0 {
                lo = lo.max(s);
            } else {
                hi = hi.min(s);
            }
        }
        if lo > hi {
            return None;
        }
    }
    Some((lo, hi))
}

/// The red band across `p` along `n`: the middle and width of the merged span nearest `p`.
fn band(red: &Flat, p: Vec2, n: Vec2, search: f64) -> Option<(f64, f64)> {
    let mut spans = red.spans(p, n, -search, search);
    if spans.is_empty() {
        return None;
    }
    spans.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut merged: Vec<(f64, f64)> = Vec::new();
    for (a, b) in spans {
        match merged.last_mut() {
            Some(last) if a <= last.1 + 1e-3 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
    merged
        .into_iter()
        .map(|(a, b)| ((a + b) / 2.0, b - a))
        .min_by(|x, y| x.0.abs().total_cmp(&y.0.abs()))
}

/// Whether a material is the red line's paint, by what it looks like, not by its name: a
/// lit (Lambert) surface whose colour — times its texture's mean colour where it has one —
/// is strongly red: red at least 0.6, green and blue each under a quarter of it. Gazebo's
/// follow-line circuits paint it pure red (1, 0, 0) or with a red texture; darker reds are
/// kerbs and roofs (Montreal's 0.50, the old `pista`'s 0.54).
pub(super) fn is_red_paint(scene: &Scene, m: &Material) -> bool {
    let mut c = m.color;
    if let Some(t) = m.texture.and_then(|t| scene.textures.get(t)) {
        let mean = t.mean();
        for k in 0..3 {
            c[k] *= mean[k] / 255.0;
        }
    }
    m.shading == Shading::Lambert && c[0] >= 0.6 && c[1] < c[0] / 4.0 && c[2] < c[0] / 4.0
}

fn is_red_line(scene: &Scene, t: &Triangle) -> bool {
    t.p.iter().all(|p| p[2].abs() < 0.05)
        && is_red_paint(scene, &scene.materials[t.material as usize])
}

fn flat_of(t: &Triangle) -> [Vec2; 3] {
    t.p.map(|p| Vec2::new(p[0] as f64, p[1] as f64))
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    Some(v[v.len() / 2])
}

/// Traces the red line of `scene` from `start` (a point near the line and the heading to
/// drive it in), or from the start of its longest straight, clockwise.
pub fn trace_red_line(scene: &Scene, start: Option<(Vec2, f64)>) -> Result<RedLine, String> {
    let red: Vec<_> = scene
        .triangles
        .iter()
        .filter(|t| is_red_line(scene, t))
        .map(|t| (t, flat_of(t)))
        .collect();
    if red.is_empty() {
        return Err(
            "no red line: no horizontal surface on the ground looks red (red paint or a red \
             texture)"
                .into(),
        );
    }
    let red = Flat::new(red);
    // Seed: the red triangle nearest the start, else the first.
    let centroid = |t: &[Vec2; 3]| (t[0] + t[1] + t[2]) * (1.0 / 3.0);
    let seed = match start {
        Some((p, _)) => red
            .tris
            .iter()
            .map(centroid)
            .min_by(|a, b| a.dist(p).total_cmp(&b.dist(p)))
            .expect("red triangles"),
        None => centroid(&red.tris[0]),
    };
    // The band's direction at the seed: probe across it in several directions, keep the
    // narrowest crossing; the line runs perpendicular to it.
    let mut best: Option<(f64, Vec2, f64)> = None;
    for k in 0..36 {
        let a = std::f64::consts::PI * k as f64 / 36.0;
        let n = Vec2::new(a.cos(), a.sin());
        if let Some((mid, width)) = band(&red, seed, n, SEARCH) {
            if best.is_none_or(|(w, _, _)| width < w) {
                best = Some((width, n, mid));
            }
        }
    }
    let Some((_, across, mid)) = best else {
        return Err(format!(
            "the red line cannot be found around ({:.2}, {:.2})",
            seed.x, seed.y
        ));
    };
    let mut c = seed + across * mid;
    let mut t = Vec2::new(across.y, -across.x);
    if let Some((_, yaw)) = start {
        if t.dot(Vec2::new(yaw.cos(), yaw.sin())) < 0.0 {
            t = t * -1.0;
        }
    }
    let first = c;
    let mut points = vec![c];
    let mut widths = Vec::new();
    let mut travelled = 0.0;
    let mut misses = 0;
    let max_steps = 2_000_000;
    loop {
        let q = c + t * STEP;
        let n = Vec2::new(-t.y, t.x);
        let next = match band(&red, q, n, SEARCH) {
            Some((mid, width)) => {
                misses = 0;
                widths.push(width);
                q + n * mid
            }
            None => {
                misses += 1;
                if misses > MAX_MISSES {
                    return Err(format!(
                        "the red line breaks off near ({:.2}, {:.2}) after {travelled:.0} m",
                        c.x, c.y
                    ));
                }
                q
            }
        };
        let dir = next - c;
        let len = dir.norm();
        if len > 1e-9 {
            t = dir * (1.0 / len);
        }
        travelled += len;
        c = next;
        if travelled > 20.0 && c.dist(first) < STEP * 0.75 {
            break;
        }
        points.push(c);
        if points.len() > max_steps {
            return Err("the red line does not come back to where tracing started".into());
        }
    }
    if points.len() < 50 {
        return Err(format!("the red line is only {travelled:.1} m long"));
    }
    let line = ClosedPolyline::new(points.clone());
    // Clockwise, as Behavior Metrics drives its circuits, unless a start heading says.
    if start.is_none() && line.signed_area() > 0.0 {
        points.reverse();
    }
    match start {
        None => points = from_longest_straight(points),
        Some((p, _)) => {
            let nearest = (0..points.len())
                .min_by(|&a, &b| points[a].dist(p).total_cmp(&points[b].dist(p)))
                .unwrap_or(0);
            points.rotate_left(nearest);
        }
    }
    let line_width = median(widths).unwrap_or(0.0);
    let road_width = road_width(scene, &points, line_width);
    Ok(RedLine {
        points,
        line_width,
        road_width,
    })
}

/// The points rotated to start where the longest stretch of nearly straight line begins.
fn from_longest_straight(points: Vec<Vec2>) -> Vec<Vec2> {
    let n = points.len();
    // Heading change over ±1 m around each point, radians per metre.
    let k = (1.0 / STEP).round() as usize;
    let straight: Vec<bool> = (0..n)
        .map(|i| {
            let a = points[(i + n - k) % n];
            let b = points[i];
            let c = points[(i + k) % n];
            let (h1, h2) = ((b - a).y.atan2((b - a).x), (c - b).y.atan2((c - b).x));
            let d = crate::base::geometry::wrap_angle(h2 - h1).abs();
            d / 1.0 < 0.02
        })
        .collect();
    let (mut best, mut best_len) = (0, 0);
    for i in 0..n {
        if straight[i] && !straight[(i + n - 1) % n] {
            let len = (0..n).take_while(|j| straight[(i + j) % n]).count();
            if len > best_len {
                best = i;
                best_len = len;
            }
        }
    }
    let mut out = points;
    out.rotate_left(best);
    out
}

/// The median width of the road around the line, measured across it every 5 m: on each side,
/// from just outside the red band, as far as the ground keeps the material found there.
fn road_width(scene: &Scene, points: &[Vec2], line_width: f64) -> Option<f64> {
    let ground: Vec<_> = scene
        .triangles
        .iter()
        .filter(|t| !is_red_line(scene, t) && t.p.iter().all(|p| p[2].abs() < 0.05))
        .map(|t| (t, flat_of(t)))
        .collect();
    let ground = Flat::new(ground);
    let every = (5.0 / STEP).round() as usize;
    let first = line_width / 2.0 + 0.05;
    let mut widths = Vec::new();
    for i in (0..points.len()).step_by(every.max(1)) {
        let p = points[i];
        let t = points[(i + 1) % points.len()] - p;
        let len = t.norm();
        if len < 1e-9 {
            continue;
        }
        let n = Vec2::new(-t.y / len, t.x / len);
        let extent = |sign: f64| -> Option<f64> {
            let road = ground.top_at(p + n * (sign * first))?;
            let mut s = first;
            while s < 30.0 && ground.top_at(p + n * (sign * (s + 0.05))) == Some(road) {
                s += 0.05;
            }
            Some(s)
        };
        if let (Some(l), Some(r)) = (extent(1.0), extent(-1.0)) {
            widths.push(l + r);
        }
    }
    median(widths)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::scene::DEFAULT_MATERIAL_AMBIENT;

    /// A ring of radius 20 m: a red band 0.1 m wide on a grey road 6 m wide.
    fn ring() -> Scene {
        let mut s = Scene::new();
        let mat = |s: &mut Scene, color| {
            s.add_material(Material {
                name: "m".into(),
                color,
                ambient: DEFAULT_MATERIAL_AMBIENT,
                texture: None,
                shading: Shading::Lambert,
                on_top: false,
            })
        };
        let red = mat(&mut s, [1.0, 0.0, 0.0]);
        let grey = mat(&mut s, [0.3, 0.3, 0.3]);
        let n = 400;
        for (inner, outer, z, m) in [(17.0f32, 23.0f32, 0.0f32, grey), (19.95, 20.05, 0.002, red)] {
            for i in 0..n {
                let (a, b) = (
                    std::f32::consts::TAU * i as f32 / n as f32,
                    std::f32::consts::TAU * (i + 1) as f32 / n as f32,
                );
                let at = |r: f32, a: f32| [r * a.cos(), r * a.sin(), z];
                s.add_triangle([at(inner, a), at(outer, a), at(outer, b)], [[0.0; 2]; 3], m);
                s.add_triangle([at(inner, a), at(outer, b), at(inner, b)], [[0.0; 2]; 3], m);
            }
        }
        s
    }

    #[test]
    fn a_triangle_a_billion_metres_out_leaves_the_index_bounded() {
        let mut s = ring();
        let far = 1e9f32;
        s.add_triangle(
            [
                [far, far, 0.0],
                [far + 1.0, far, 0.0],
                [far, far + 1.0, 0.0],
            ],
            [[0.0; 2]; 3],
            1,
        );
        let line = trace_red_line(&s, None).unwrap();
        let len = ClosedPolyline::new(line.points.clone()).length();
        assert!((len - std::f64::consts::TAU * 20.0).abs() < 0.5, "{len}");
    }

    #[test]
    fn a_ring_is_traced_round_clockwise_with_its_widths() {
        let line = trace_red_line(&ring(), None).unwrap();
        let len = ClosedPolyline::new(line.points.clone()).length();
        assert!((len - std::f64::consts::TAU * 20.0).abs() < 0.5, "{len}");
        for p in &line.points {
            assert!((p.norm() - 20.0).abs() < 0.01, "{p:?}");
        }
        assert!(
            ClosedPolyline::new(line.points.clone()).signed_area() < 0.0,
            "clockwise"
        );
        assert!((line.line_width - 0.1).abs() < 0.01, "{}", line.line_width);
        let road = line.road_width.unwrap();
        assert!((road - 6.0).abs() < 0.15, "{road}");
    }

    #[test]
    fn a_start_pose_sets_the_start_and_the_direction() {
        let start = (Vec2::new(0.0, -20.3), 0.0); // bottom of the ring, heading +x: anticlockwise
        let line = trace_red_line(&ring(), Some(start)).unwrap();
        assert!(
            line.points[0].dist(Vec2::new(0.0, -20.0)) < 0.15,
            "{:?}",
            line.points[0]
        );
        assert!(ClosedPolyline::new(line.points.clone()).signed_area() > 0.0);
    }

    #[test]
    fn no_red_and_a_broken_line_are_named() {
        let mut s = ring();
        s.materials[0].color = [0.5, 0.0, 0.0];
        let e = trace_red_line(&s, None).unwrap_err();
        assert!(e.contains("no red line"), "{e}");
        let mut s = ring();
        // Cut 3 m out of the red band.
        s.triangles
            .retain(|t| !(t.material == 0 && t.p[0][0] > 0.0 && t.p[0][1].abs() < 1.5));
        let e = trace_red_line(&s, None).unwrap_err();
        assert!(e.contains("breaks off"), "{e}");
    }
}
