//! A top-down PNG of the driven path over the circuit: road in grey, reference line in red,
//! driven path in blue, where the car started as a green dot (the reference's own first point,
//! where the run has no sample), end as a black dot, and a 10 m scale bar in the lower-left
//! corner.

use std::path::Path;

use tiny_skia::{Color, FillRule, Paint, PathBuilder, Pixmap, Stroke, Transform};

use crate::base::geometry::Vec2;
use crate::evaluation::circuit::Circuit;
use crate::evaluation::laps::Sample;

/// Longer side of the image, pixels.
const SIZE: f64 = 1200.0;
/// Border around the circuit, pixels.
const MARGIN: f64 = 40.0;

/// Draws the plot and saves it as PNG.
pub fn plot_path(path: &Path, circuit: &Circuit, trajectory: &[Sample]) -> Result<(), String> {
    let (lo, hi) = circuit.centre.bounds();
    let half_road = circuit.road.road_width / 2.0;
    let (lo, hi) = (
        Vec2::new(lo.x - half_road, lo.y - half_road),
        Vec2::new(hi.x + half_road, hi.y + half_road),
    );
    let span = (hi.x - lo.x).max(hi.y - lo.y).max(1.0);
    let scale = (SIZE - 2.0 * MARGIN) / span;
    let w = ((hi.x - lo.x) * scale + 2.0 * MARGIN).ceil() as u32;
    let h = ((hi.y - lo.y) * scale + 2.0 * MARGIN).ceil() as u32;
    let mut pixmap = Pixmap::new(w, h).ok_or("image size out of range")?;
    pixmap.fill(Color::from_rgba8(70, 120, 55, 255));
    let to_px = |p: Vec2| {
        (
            (MARGIN + (p.x - lo.x) * scale) as f32,
            (h as f64 - MARGIN - (p.y - lo.y) * scale) as f32,
        )
    };
    let polyline = |pts: &mut dyn Iterator<Item = Vec2>, close: bool| {
        let mut pb = PathBuilder::new();
        for (i, p) in pts.enumerate() {
            let (x, y) = to_px(p);
            if i == 0 {
                pb.move_to(x, y);
            } else {
                pb.line_to(x, y);
            }
        }
        if close {
            pb.close();
        }
        pb.finish()
    };
    let stroke = |pixmap: &mut Pixmap, path: &tiny_skia::Path, rgb: [u8; 3], width: f64| {
        let mut paint = Paint::default();
        paint.set_color_rgba8(rgb[0], rgb[1], rgb[2], 255);
        paint.anti_alias = true;
        let s = Stroke {
            width: width as f32,
            line_join: tiny_skia::LineJoin::Round,
            line_cap: tiny_skia::LineCap::Round,
            ..Stroke::default()
        };
        pixmap.stroke_path(path, &paint, &s, Transform::identity(), None);
    };
    let dot = |pixmap: &mut Pixmap, p: Vec2, rgb: [u8; 3], radius: f32| {
        let (x, y) = to_px(p);
        if let Some(c) = PathBuilder::from_circle(x, y, radius) {
            let mut paint = Paint::default();
            paint.set_color_rgba8(rgb[0], rgb[1], rgb[2], 255);
            paint.anti_alias = true;
            pixmap.fill_path(&c, &paint, FillRule::Winding, Transform::identity(), None);
        }
    };

    let centre = polyline(&mut circuit.centre.points().iter().copied(), true)
        .ok_or("circuit has no points")?;
    stroke(
        &mut pixmap,
        &centre,
        [95, 95, 100],
        circuit.road.road_width * scale,
    );
    stroke(
        &mut pixmap,
        &centre,
        [215, 30, 35],
        (circuit.road.line_width * scale).max(1.5),
    );
    if let Some(driven) = polyline(&mut trajectory.iter().map(|s| Vec2::new(s.x, s.y)), false) {
        stroke(&mut pixmap, &driven, [40, 110, 255], 2.0);
    }
    // End first: after a completed lap it lies on the start, which stays visible on top.
    if let Some(last) = trajectory.last() {
        dot(&mut pixmap, Vec2::new(last.x, last.y), [0, 0, 0], 7.0);
    }
    let start = trajectory
        .first()
        .map_or(circuit.start_pose().p, |s| Vec2::new(s.x, s.y));
    dot(&mut pixmap, start, [40, 220, 60], 4.0);
    // Scale bar: 10 m.
    let mut pb = PathBuilder::new();
    let y = h as f32 - 15.0;
    pb.move_to(15.0, y);
    pb.line_to(15.0 + (10.0 * scale) as f32, y);
    if let Some(bar) = pb.finish() {
        stroke(&mut pixmap, &bar, [255, 255, 255], 4.0);
    }
    pixmap.save_png(path).map_err(|e| e.to_string())
}
