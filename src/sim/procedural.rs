//! Behavior Metrics' look for any circuit: a [`Scene`] built around a centre line the way its
//! Gazebo circuits are built, from what their meshes measure — textured asphalt (a texture
//! repeating every 0.30 m), a flat red band on top, a band of grass each side, then walls
//! 0.5 m high — so a CSV lap or a built-in circuit looks to the camera like Behavior Metrics'
//! world with no files from it. The textures are drawn from a fixed seed to the statistics of
//! Behavior Metrics' `Asphalt_New.jpg` and `Grass_Light_Green.jpg`.
//!
//! Bands are strips offset from the line; where a curve is tighter than a band's offset, the
//! strip folds under the asphalt, which is drawn later and so on top, and a wall segment that
//! would come closer to any part of the line than its offset is left out.

use std::sync::Arc;

use crate::base::geometry::Vec2;
use crate::evaluation::circuit::Circuit;
use crate::sim::render::hash32;
use crate::sim::scene::{Material, Scene, Shading, Texture, Vec3, DEFAULT_MATERIAL_AMBIENT};

/// Spacing of the strips' cross-sections along the line, metres.
const STEP_M: f64 = 0.25;
/// Width of the grass beside the road, metres.
pub const GRASS_M: f64 = 3.0;
/// Height of the walls, metres.
pub const WALL_HEIGHT_M: f32 = 0.5;
/// Height of the red band above the asphalt, metres (Behavior Metrics': 0.002).
const PAINT_HEIGHT_M: f32 = 0.002;
/// Metres per repeat of the asphalt texture.
const ASPHALT_REPEAT_M: f64 = 0.30;
/// Metres per repeat of the grass texture.
const GRASS_REPEAT_M: f64 = 1.19;

/// A noise texture with the given mean colour and spread, 256 texels square, tiling.
fn noise_texture(name: &str, mean: [f32; 3], spread: f32, seed: u32) -> Texture {
    const SIDE: u32 = 256;
    let mut rgb = Vec::with_capacity((SIDE * SIDE * 3) as usize);
    for y in 0..SIDE {
        for x in 0..SIDE {
            // Fine grain plus a coarser mottling, both periodic over the tile.
            let fine = hash32((y * SIDE + x) ^ seed) as f32 / u32::MAX as f32 - 0.5;
            let coarse =
                hash32(((y / 8) * 64 + x / 8) ^ seed.rotate_left(7)) as f32 / u32::MAX as f32 - 0.5;
            let v = (fine * 0.8 + coarse * 0.6) * 2.0 * spread;
            for m in mean {
                rgb.push((m + v).clamp(0.0, 255.0) as u8);
            }
        }
    }
    Texture::from_rgb(name, SIDE, SIDE, &rgb)
}

/// Sections of the line every [`STEP_M`]: point, left normal, distance along.
fn sections(circuit: &Circuit) -> Vec<(Vec2, Vec2, f64)> {
    let length = circuit.length();
    let n = ((length / STEP_M).round() as usize).max(8);
    (0..=n)
        .map(|i| {
            let s = length * i as f64 / n as f64;
            let (p, t) = circuit.centre.at(s % length);
            (p, Vec2::new(-t.y, t.x), s)
        })
        .collect()
}

/// Distance to the nearest point of the centre line, via a coarse grid of its points.
struct Clearance {
    origin: Vec2,
    cols: usize,
    rows: usize,
    cells: Vec<Vec<Vec2>>,
}

const CLEARANCE_CELL: f64 = 2.0;

impl Clearance {
    fn new(circuit: &Circuit) -> Clearance {
        let (lo, hi) = circuit.centre.bounds();
        let origin = Vec2::new(lo.x - 20.0, lo.y - 20.0);
        let cols = ((hi.x - lo.x + 40.0) / CLEARANCE_CELL) as usize + 1;
        let rows = ((hi.y - lo.y + 40.0) / CLEARANCE_CELL) as usize + 1;
        let mut cells = vec![Vec::new(); cols * rows];
        for &p in circuit.centre.points() {
            let c = ((p.x - origin.x) / CLEARANCE_CELL) as usize;
            let r = ((p.y - origin.y) / CLEARANCE_CELL) as usize;
            cells[r * cols + c].push(p);
        }
        Clearance {
            origin,
            cols,
            rows,
            cells,
        }
    }

    /// Whether every point of the line is at least `d` from `p` (points are 0.1 m apart).
    fn at_least(&self, p: Vec2, d: f64) -> bool {
        let reach = (d / CLEARANCE_CELL).ceil() as isize + 1;
        let c = ((p.x - self.origin.x) / CLEARANCE_CELL) as isize;
        let r = ((p.y - self.origin.y) / CLEARANCE_CELL) as isize;
        for rr in (r - reach).max(0)..=(r + reach).min(self.rows as isize - 1) {
            for cc in (c - reach).max(0)..=(c + reach).min(self.cols as isize - 1) {
                if self.cells[rr as usize * self.cols + cc as usize]
                    .iter()
                    .any(|q| q.dist(p) < d)
                {
                    return false;
                }
            }
        }
        true
    }
}

/// Behavior Metrics' look around `circuit`'s centre line, for its road width and line width.
pub fn behavior_metrics_look(circuit: &Circuit) -> Scene {
    let mut scene = Scene::new();
    let asphalt_tex = scene.add_texture(Arc::new(noise_texture(
        "asphalt (procedural)",
        [65.9, 61.1, 62.4],
        10.9,
        0x51ed_270b,
    )));
    let grass_tex = scene.add_texture(Arc::new(noise_texture(
        "grass (procedural)",
        [137.7, 158.5, 68.5],
        26.0,
        0x2545_f491,
    )));
    let textured = |name: &str, texture| Material {
        name: name.into(),
        color: [1.0; 3],
        ambient: DEFAULT_MATERIAL_AMBIENT,
        texture: Some(texture),
        shading: Shading::Lambert,
        on_top: false,
    };
    let grass = scene.add_material(textured("grass", grass_tex));
    let asphalt = scene.add_material(textured("asphalt", asphalt_tex));
    let wall = scene.add_material(Material {
        name: "wall".into(),
        color: [1.0; 3],
        ambient: DEFAULT_MATERIAL_AMBIENT,
        texture: None,
        shading: Shading::Lambert,
        on_top: false,
    });
    let red = scene.add_material(Material {
        name: "red line".into(),
        color: [1.0, 0.0, 0.0],
        ambient: DEFAULT_MATERIAL_AMBIENT,
        texture: None,
        shading: Shading::Lambert,
        on_top: true,
    });

    let road = circuit.road;
    let half_road = road.road_width / 2.0;
    let half_line = road.line_width / 2.0;
    let secs = sections(circuit);
    let at = |(p, n, _): &(Vec2, Vec2, f64), offset: f64, z: f32| -> Vec3 {
        let q = *p + *n * offset;
        [q.x as f32, q.y as f32, z]
    };
    // A strip between offsets a < b (left positive), facing up.
    let strip = |scene: &mut Scene, a: f64, b: f64, z: f32, material: u32, repeat: Option<f64>| {
        for w in secs.windows(2) {
            let (s0, s1) = (&w[0], &w[1]);
            let uv = |s: &(Vec2, Vec2, f64), off: f64| match repeat {
                Some(r) => [(s.2 / r) as f32, (off / r) as f32],
                None => [0.0, 0.0],
            };
            let (p00, p01, p10, p11) = (at(s0, a, z), at(s0, b, z), at(s1, a, z), at(s1, b, z));
            // Counter-clockwise seen from above: right edge (a) forward, then left (b).
            scene.add_triangle([p00, p10, p11], [uv(s0, a), uv(s1, a), uv(s1, b)], material);
            scene.add_triangle([p00, p11, p01], [uv(s0, a), uv(s1, b), uv(s0, b)], material);
        }
    };
    strip(
        &mut scene,
        -half_road - GRASS_M,
        -half_road,
        0.0,
        grass,
        Some(GRASS_REPEAT_M),
    );
    strip(
        &mut scene,
        half_road,
        half_road + GRASS_M,
        0.0,
        grass,
        Some(GRASS_REPEAT_M),
    );
    strip(
        &mut scene,
        -half_road,
        half_road,
        0.0,
        asphalt,
        Some(ASPHALT_REPEAT_M),
    );
    strip(&mut scene, -half_line, half_line, PAINT_HEIGHT_M, red, None);

    // Walls at the grass's outer edge, both faces, where the line keeps clear of them.
    let clearance = Clearance::new(circuit);
    let offset = half_road + GRASS_M;
    for side in [1.0, -1.0] {
        for w in secs.windows(2) {
            let (s0, s1) = (&w[0], &w[1]);
            let (a, b) = (s0.0 + s0.1 * (side * offset), s1.0 + s1.1 * (side * offset));
            if !(clearance.at_least(a, offset - 0.05) && clearance.at_least(b, offset - 0.05)) {
                continue;
            }
            let (a0, a1) = (
                [a.x as f32, a.y as f32, 0.0],
                [a.x as f32, a.y as f32, WALL_HEIGHT_M],
            );
            let (b0, b1) = (
                [b.x as f32, b.y as f32, 0.0],
                [b.x as f32, b.y as f32, WALL_HEIGHT_M],
            );
            let uv = [[0.0; 2]; 3];
            // Each face's front: the road side first, then the far side.
            let toward_right = [[a0, b0, b1], [a0, b1, a1]];
            let toward_left = [[a0, a1, b1], [a0, b1, b0]];
            let (front, back) = if side > 0.0 {
                (toward_right, toward_left)
            } else {
                (toward_left, toward_right)
            };
            for t in front.into_iter().chain(back) {
                scene.add_triangle(t, uv, wall);
            }
        }
    }
    scene
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::camera::CameraConfig;
    use crate::evaluation::circuit::RoadGeometry;
    use crate::sim::raster::Raster;
    use crate::sim::render::Appearance;

    #[test]
    fn the_car_on_the_line_sees_red_ahead_dark_asphalt_beside_and_sky_above() {
        let circuit = Circuit::load("lakeside", RoadGeometry::behavior_metrics(), false).unwrap();
        let scene = behavior_metrics_look(&circuit);
        let r = Raster::new(Arc::new(scene), CameraConfig::behavior_metrics_f1());
        let mut f = r.new_frame();
        r.render(&circuit.start_pose(), &Appearance::default(), 0, &mut f);
        // The camera is 4 cm left of the line: the red band is just right of the centre
        // column at the bottom, Gazebo's lit red.
        assert_eq!(f.rgb(360, 478), [177, 0, 0]);
        // Asphalt to the left at the bottom: dark grey, about 22 (texture mean 66 × 0.5 × 0.7).
        let [r0, g0, b0] = f.rgb(60, 470);
        assert!(
            (10..40).contains(&r0) && g0 < 40 && b0 < 40,
            "{r0} {g0} {b0}"
        );
        let [rs, gs, bs] = f.rgb(320, 60);
        assert!(bs > rs && bs > gs, "sky {rs} {gs} {bs}");
    }
}
