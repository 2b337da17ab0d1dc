//! The camera renderer: draws what the simulated camera sees — sky, off-road ground, road,
//! white edge lines and the red centre line — deterministically, with optional variation of
//! lighting, sensor noise and ground texture for data augmentation.
//!
//! Per pixel it does one pose transform, one bilinear lookup in the circuit's
//! `DistanceField` and a box-filtered coverage of each painted band, so lines stay
//! anti-aliased at any distance. Ray/ground intersections are precomputed once per camera.

use serde::{Deserialize, Serialize};

use crate::base::camera::{CameraConfig, CameraModel};
use crate::base::geometry::Pose2;
use crate::base::sensor::{Encoding, Frame};
use crate::base::settings::{within, InvalidSetting};
use crate::evaluation::circuit::{Circuit, RoadGeometry};
use crate::sim::field::DistanceField;

/// Grid spacing of the distance field, metres.
const FIELD_CELL_M: f64 = 0.2;
/// Ground farther than this (along the ray) is drawn as haze, metres.
const MAX_RANGE_M: f32 = 150.0;

/// Optional variation of the picture. The default is the plain, deterministic look.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Appearance {
    /// Overall light level (1 = nominal).
    pub brightness: f32,
    /// Per-channel gain (white balance), red, green, blue.
    pub tint: [f32; 3],
    /// Standard deviation-like amplitude of per-pixel sensor noise, in 0–255 units.
    pub noise: f32,
    /// Amplitude of world-anchored grain on road and ground, in 0–255 units.
    pub texture: f32,
    /// Seed of the noise and texture patterns.
    pub seed: u64,
}

impl Default for Appearance {
    fn default() -> Self {
        Self {
            brightness: 1.0,
            tint: [1.0; 3],
            noise: 0.0,
            texture: 0.0,
            seed: 0,
        }
    }
}

impl Appearance {
    /// Checks ranges; the error names the setting.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        within("brightness", self.brightness, 0.05, 4.0)?;
        if self.tint.iter().any(|t| !(0.2..=3.0).contains(t)) {
            return Err(InvalidSetting::new(
                "tint",
                format!("{:?} has a gain outside [0.2, 3]", self.tint),
            ));
        }
        within("noise", self.noise, 0.0, 128.0)?;
        within("texture", self.texture, 0.0, 128.0)?;
        Ok(())
    }
}

impl Appearance {
    /// Applies the light level, white balance and sensor noise to a finished frame: how the
    /// scene renderer varies its pictures (the classic renderer folds them into its shading).
    pub fn apply(&self, seq: u64, frame: &mut Frame) {
        let gain = self.tint.map(|t| t * self.brightness);
        if gain == [1.0; 3] && self.noise == 0.0 {
            return;
        }
        let seed = hash32((self.seed as u32) ^ hash32(seq as u32 ^ 0x9e37_79b9));
        let (w, h, step) = (
            frame.width as usize,
            frame.height as usize,
            frame.step as usize,
        );
        for y in 0..h {
            let row = &mut frame.data[y * step..y * step + w * 3];
            for (x, px) in row.chunks_exact_mut(3).enumerate() {
                let n = if self.noise > 0.0 {
                    let k = hash32((y * w + x) as u32 ^ seed);
                    ((k & 0xffff) as f32 * (1.0 / 65535.0) - 0.5) * 2.0 * self.noise
                } else {
                    0.0
                };
                for c in 0..3 {
                    px[c] = (px[c] as f32 * gain[c] + n + 0.5) as u8;
                }
            }
        }
    }
}

/// Colours of the scene, RGB in 0–255.
#[derive(Debug, Clone, Copy)]
struct Palette {
    sky_top: [f32; 3],
    sky_horizon: [f32; 3],
    haze: [f32; 3],
    grass: [f32; 3],
    asphalt: [f32; 3],
    edge: [f32; 3],
    line: [f32; 3],
}

const PALETTE: Palette = Palette {
    sky_top: [96.0, 150.0, 215.0],
    sky_horizon: [185.0, 205.0, 230.0],
    haze: [140.0, 160.0, 150.0],
    grass: [62.0, 112.0, 48.0],
    asphalt: [88.0, 88.0, 94.0],
    edge: [232.0, 232.0, 232.0],
    line: [205.0, 28.0, 32.0],
};

/// Ground geometry of one image row. Every pixel of a row sees the ground at the same
/// distance ahead, so its ground point is linear in the column.
#[derive(Debug, Clone, Copy)]
struct RowGeometry {
    /// Body-frame forward distance of the row's ground points, metres.
    forward: f32,
    /// Body-frame lateral position (left) of column 0's centre, metres.
    left0: f32,
    /// Change of the lateral position per column, metres.
    left_step: f32,
    /// Lateral size of a pixel on the ground at the image centre, metres.
    footprint: f32,
    /// The row is beyond [`MAX_RANGE_M`]: drawn as haze.
    haze: bool,
}

/// Renders camera frames of one circuit.
#[derive(Debug, Clone)]
pub struct Renderer {
    model: CameraModel,
    field: DistanceField,
    road: RoadGeometry,
    /// First image row that contains ground.
    first_ground_row: usize,
    /// Geometry of each row from `first_ground_row` down.
    rows: Vec<RowGeometry>,
    /// Sky colour of each row above the ground.
    sky_rows: Vec<[f32; 3]>,
}

impl Renderer {
    /// Prepares rendering of `circuit` through a camera with `camera` settings.
    pub fn new(circuit: &Circuit, camera: CameraConfig) -> Self {
        let model = CameraModel::new(camera);
        let road = circuit.road;
        let band = road.road_width / 2.0 + 1.0;
        let field = DistanceField::new(&circuit.centre, FIELD_CELL_M, band);
        let h = camera.height as usize;
        let horizon = model.horizon_row();
        // The first row whose lower half sees the ground (its centre may be just above).
        let first_ground_row = ((horizon + 0.5).max(0.0).ceil() as usize).min(h);
        let rows = (first_ground_row..h)
            .map(|v| {
                let v = v as f64 + 0.5;
                match (model.pixel_to_ground(0.5, v), model.pixel_to_ground(1.5, v)) {
                    (Some((g0, _)), Some((g1, _))) => {
                        let (_, range) = model
                            .pixel_to_ground(model.cx, v)
                            .unwrap_or((g0, f64::INFINITY));
                        RowGeometry {
                            forward: g0.x as f32,
                            left0: g0.y as f32,
                            left_step: (g1.y - g0.y) as f32,
                            // Never below 1 cm, so the coverage filter stays well defined.
                            footprint: (range / model.f).max(0.01) as f32,
                            haze: range as f32 > MAX_RANGE_M,
                        }
                    }
                    _ => RowGeometry {
                        forward: 0.0,
                        left0: 0.0,
                        left_step: 0.0,
                        footprint: 1.0,
                        haze: true,
                    },
                }
            })
            .collect();
        let sky_rows = (0..first_ground_row)
            .map(|v| {
                let t = if horizon > 0.0 {
                    (v as f64 / horizon).clamp(0.0, 1.0) as f32
                } else {
                    1.0
                };
                lerp3(PALETTE.sky_top, PALETTE.sky_horizon, t)
            })
            .collect();
        Self {
            model,
            field,
            road,
            first_ground_row,
            rows,
            sky_rows,
        }
    }

    /// The camera model in use.
    pub fn camera(&self) -> &CameraModel {
        &self.model
    }

    /// A frame buffer of the right size and encoding.
    pub fn new_frame(&self) -> Frame {
        Frame::new_rgb8(self.model.config.width, self.model.config.height)
    }

    /// Draws the view from a car at `pose` into `frame` (which must come from
    /// [`Self::new_frame`]). `seq` varies the sensor noise from frame to frame.
    pub fn render(&self, pose: &Pose2, appearance: &Appearance, seq: u64, frame: &mut Frame) {
        let w = self.model.config.width as usize;
        debug_assert_eq!(frame.encoding, Encoding::Rgb8);
        debug_assert_eq!(frame.data.len(), w * self.model.config.height as usize * 3);
        frame.step = (w * 3) as u32;
        let gain = |c: [f32; 3]| {
            [
                c[0] * appearance.brightness * appearance.tint[0],
                c[1] * appearance.brightness * appearance.tint[1],
                c[2] * appearance.brightness * appearance.tint[2],
            ]
        };
        let pal = Palette {
            sky_top: gain(PALETTE.sky_top),
            sky_horizon: gain(PALETTE.sky_horizon),
            haze: gain(PALETTE.haze),
            grass: gain(PALETTE.grass),
            asphalt: gain(PALETTE.asphalt),
            edge: gain(PALETTE.edge),
            line: gain(PALETTE.line),
        };
        let (sky, ground) = frame.data.split_at_mut(self.first_ground_row * w * 3);
        for (row, out) in sky.chunks_exact_mut(w * 3).enumerate() {
            let c = to_u8(gain(self.sky_rows[row]));
            for px in out.chunks_exact_mut(3) {
                px.copy_from_slice(&c);
            }
        }
        let ctx = ShadeContext {
            half_road: (self.road.road_width / 2.0) as f32,
            half_line: (self.road.line_width / 2.0) as f32,
            edge: self.road.edge_width as f32,
            pal,
            noise: appearance.noise,
            texture: appearance.texture,
            noise_seed: hash32((appearance.seed as u32) ^ hash32(seq as u32 ^ 0x9e37_79b9)),
            texture_seed: hash32(appearance.seed as u32 ^ 0x85eb_ca6b),
        };
        for (k, (geo, out)) in self
            .rows
            .iter()
            .zip(ground.chunks_exact_mut(w * 3))
            .enumerate()
        {
            if geo.haze {
                let c = to_u8(pal.haze);
                for px in out.chunks_exact_mut(3) {
                    px.copy_from_slice(&c);
                }
                continue;
            }
            // World position of column 0 and the step per column, then in grid units.
            let start = pose.to_world(crate::base::geometry::Vec2::new(
                geo.forward as f64,
                geo.left0 as f64,
            ));
            let (s, c) = pose.yaw.sin_cos();
            let step = (-s * geo.left_step as f64, c * geo.left_step as f64);
            let row = RowSpan {
                world: (start.x as f32, start.y as f32),
                world_step: (step.0 as f32, step.1 as f32),
                grid: self.field.to_grid(start.x, start.y),
                grid_step: self.field.to_grid_step(step.0, step.1),
                footprint: geo.footprint,
                pixel_base: ((self.first_ground_row + k) * w) as u32,
            };
            match (appearance.noise > 0.0, appearance.texture > 0.0) {
                (false, false) => self.shade_row::<false, false>(&ctx, &row, out),
                (true, false) => self.shade_row::<true, false>(&ctx, &row, out),
                (false, true) => self.shade_row::<false, true>(&ctx, &row, out),
                (true, true) => self.shade_row::<true, true>(&ctx, &row, out),
            }
        }
    }

    #[inline(always)]
    fn shade_row<const NOISE: bool, const TEXTURE: bool>(
        &self,
        c: &ShadeContext,
        row: &RowSpan,
        out: &mut [u8],
    ) {
        let (hr, hl, e) = (c.half_road, c.half_line, c.edge);
        let fp = row.footprint;
        let inv = 1.0 / fp;
        let grass_u8 = to_u8(c.pal.grass);
        let asphalt_u8 = to_u8(c.pal.asphalt);
        // Distances to the line change by at most (1.5 x) the ground step between pixels (the
        // distance is 1-Lipschitz; bilinear interpolation adds less than the factor 1.5).
        let step_len = row.world_step.0.hypot(row.world_step.1);
        let safe_per_metre = 1.0 / (1.5 * step_len).max(1e-6);
        let width = out.len() / 3;
        let mut u = 0;
        while u < width {
            let uf = u as f32;
            let d = self
                .field
                .sample_grid(
                    row.grid.0 + uf * row.grid_step.0,
                    row.grid.1 + uf * row.grid_step.1,
                )
                .abs();
            // The pixel's footprint on the ground, as a band of distances to the line.
            let lo = d - 0.5 * fp;
            let hi = d + 0.5 * fp;
            let plain_ground = lo >= hr;
            let plain_road = lo >= hl && hi <= hr - e;
            if !NOISE && !TEXTURE && (plain_ground || plain_road) {
                // Most of the picture is one flat colour: fill the run of pixels that cannot
                // reach a painted band before the next sample.
                let (colour, margin) = if plain_ground {
                    (grass_u8, lo - hr)
                } else {
                    (asphalt_u8, (lo - hl).min(hr - e - hi))
                };
                let run = 1 + ((margin * safe_per_metre) as usize).min(width - u - 1);
                for px in out[u * 3..(u + run) * 3].chunks_exact_mut(3) {
                    px.copy_from_slice(&colour);
                }
                u += run;
                continue;
            }
            let o = &mut out[u * 3..u * 3 + 3];
            let (mut ground, mut asphalt) = (c.pal.grass, c.pal.asphalt);
            if TEXTURE {
                let wx = row.world.0 + uf * row.world_step.0;
                let wy = row.world.1 + uf * row.world_step.1;
                let cell = hash32(
                    ((wx * 8.0) as i32 as u32).wrapping_mul(0x27d4_eb2d)
                        ^ ((wy * 8.0) as i32 as u32)
                        ^ c.texture_seed,
                );
                let t = (cell as f32 * (1.0 / u32::MAX as f32) - 0.5) * 2.0 * c.texture;
                ground = add3(ground, t);
                asphalt = add3(asphalt, t);
            }
            let mut col = if plain_ground {
                ground
            } else if plain_road {
                asphalt
            } else {
                // Box-filter coverage of the footprint by each painted band.
                let cover = |a: f32, b: f32| ((hi.min(b) - lo.max(a)).max(0.0) * inv).min(1.0);
                let road = cover(-hr, hr);
                let edge = cover(hr - e, hr);
                let line = cover(-hl, hl);
                let paint = (road - edge - line).max(0.0);
                let off = 1.0 - road;
                let mix = |k: usize| {
                    ground[k] * off
                        + asphalt[k] * paint
                        + c.pal.edge[k] * edge
                        + c.pal.line[k] * line
                };
                [mix(0), mix(1), mix(2)]
            };
            if NOISE {
                let h = hash32((row.pixel_base + u as u32) ^ c.noise_seed);
                let n = ((h & 0xffff) as f32 * (1.0 / 65535.0) - 0.5) * 2.0 * c.noise;
                col = add3(col, n);
            }
            o.copy_from_slice(&to_u8(col));
            u += 1;
        }
    }
}

/// Per-frame constants of the shading loop.
struct ShadeContext {
    half_road: f32,
    half_line: f32,
    edge: f32,
    pal: Palette,
    noise: f32,
    texture: f32,
    noise_seed: u32,
    texture_seed: u32,
}

/// Where one image row lies on the ground in this frame.
struct RowSpan {
    world: (f32, f32),
    world_step: (f32, f32),
    grid: (f32, f32),
    grid_step: (f32, f32),
    footprint: f32,
    pixel_base: u32,
}

#[inline(always)]
fn lerp3(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

#[inline(always)]
fn add3(a: [f32; 3], k: f32) -> [f32; 3] {
    [a[0] + k, a[1] + k, a[2] + k]
}

#[inline(always)]
fn to_u8(c: [f32; 3]) -> [u8; 3] {
    // `as u8` saturates: negative → 0, above 255 → 255.
    [(c[0] + 0.5) as u8, (c[1] + 0.5) as u8, (c[2] + 0.5) as u8]
}

/// A small integer hash (lowbias32) for deterministic noise patterns.
#[inline(always)]
pub(crate) fn hash32(mut x: u32) -> u32 {
    x ^= x >> 16;
    x = x.wrapping_mul(0x7feb_352d);
    x ^= x >> 15;
    x = x.wrapping_mul(0x846c_a68b);
    x ^= x >> 16;
    x
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::geometry::Vec2;

    /// A long oval whose start is the middle of a 200 m straight along +x.
    fn straight_circuit() -> Circuit {
        let mut pts = Vec::new();
        for i in 0..=200 {
            pts.push(Vec2::new(-100.0 + i as f64, 0.0));
        }
        for i in 1..100 {
            let a = -std::f64::consts::FRAC_PI_2 + std::f64::consts::PI * i as f64 / 100.0;
            pts.push(Vec2::new(100.0 + 60.0 * a.cos(), 60.0 + 60.0 * a.sin()));
        }
        for i in 0..=200 {
            pts.push(Vec2::new(100.0 - i as f64, 120.0));
        }
        for i in 1..100 {
            let a = std::f64::consts::FRAC_PI_2 + std::f64::consts::PI * i as f64 / 100.0;
            pts.push(Vec2::new(-100.0 + 60.0 * a.cos(), 60.0 + 60.0 * a.sin()));
        }
        // Rotate so the lap starts at (0, 0).
        pts.rotate_left(100);
        Circuit::from_points(
            "oval".into(),
            "test".into(),
            pts,
            RoadGeometry::classic(),
            false,
        )
        .unwrap()
    }

    fn is_red(p: [u8; 3]) -> bool {
        p[0] > 120 && p[1] < 90 && p[2] < 90
    }

    /// Column centre of the red pixels in `row`, weighted by redness.
    fn red_centre(frame: &Frame, row: u32) -> Option<f64> {
        let (mut sum, mut wsum) = (0.0, 0.0);
        for x in 0..frame.width {
            let p = frame.rgb(x, row);
            if is_red(p) {
                let wgt = p[0] as f64 - p[1] as f64;
                sum += wgt * (x as f64 + 0.5);
                wsum += wgt;
            }
        }
        (wsum > 0.0).then(|| sum / wsum)
    }

    #[test]
    fn red_line_appears_where_geometry_puts_it() {
        let circuit = straight_circuit();
        let r = Renderer::new(&circuit, CameraConfig::classic());
        let mut frame = r.new_frame();
        let mut checked = 0;
        // Car 0.6 m right of the line, heading along it, 0.1 rad to the left.
        for &(offset, yaw) in &[(-0.6f64, 0.1f64), (0.0, 0.0), (1.2, -0.05)] {
            let pose = Pose2 {
                p: Vec2::new(0.0, offset),
                yaw,
            };
            r.render(&pose, &Appearance::default(), 0, &mut frame);
            for row in [300u32, 380, 460] {
                // Where the line (y = 0) crosses this row, from the camera model: intersect
                // the row's ground ray fan with the line by bisection on the column.
                let m = r.camera();
                let to_world = |u: f64| {
                    let (g, _) = m.pixel_to_ground(u, row as f64 + 0.5).unwrap();
                    pose.to_world(g).y
                };
                let (mut a, mut b) = (0.0, 640.0);
                if to_world(a).signum() == to_world(b).signum() {
                    continue; // the line does not cross this row inside the image
                }
                for _ in 0..60 {
                    let mid = 0.5 * (a + b);
                    if to_world(mid).signum() == to_world(a).signum() {
                        a = mid;
                    } else {
                        b = mid;
                    }
                }
                let expected = 0.5 * (a + b);
                if !(80.0..560.0).contains(&expected) {
                    continue; // the line is cut by the image border: its centroid is biased
                }
                let found = red_centre(&frame, row).expect("red line visible");
                checked += 1;
                assert!(
                    (found - expected).abs() < 1.0,
                    "offset {offset} yaw {yaw} row {row}: red at {found:.2}, geometry says {expected:.2}"
                );
            }
        }
        assert!(checked >= 6, "only {checked} rows checked");
    }

    #[test]
    fn sky_on_top_grass_beside_the_road() {
        let circuit = straight_circuit();
        let r = Renderer::new(&circuit, CameraConfig::classic());
        let mut frame = r.new_frame();
        r.render(&circuit.start_pose(), &Appearance::default(), 0, &mut frame);
        let top = frame.rgb(320, 5);
        assert!(top[2] > top[0] && top[2] > 150, "sky {top:?}");
        // 5 m to the side of the car at the bottom of the image: grass.
        let m = r.camera();
        let (u, v) = m.ground_to_pixel(Vec2::new(4.0, 4.5)).unwrap();
        let g = frame.rgb(u as u32, v as u32);
        assert!(g[1] > g[0] && g[1] > g[2], "grass {g:?}");
        // Between line and edge: asphalt grey.
        let (u, v) = m.ground_to_pixel(Vec2::new(4.0, 1.5)).unwrap();
        let a = frame.rgb(u as u32, v as u32);
        assert!(
            a[0].abs_diff(a[1]) < 10 && a[0] > 60 && a[0] < 120,
            "asphalt {a:?}"
        );
    }

    #[test]
    fn rendering_is_deterministic_and_variation_changes_pixels() {
        let circuit = straight_circuit();
        let r = Renderer::new(&circuit, CameraConfig::classic());
        let (mut a, mut b) = (r.new_frame(), r.new_frame());
        let pose = circuit.start_pose();
        r.render(&pose, &Appearance::default(), 3, &mut a);
        r.render(&pose, &Appearance::default(), 4, &mut b);
        assert_eq!(a.data, b.data);
        let varied = Appearance {
            brightness: 0.7,
            noise: 6.0,
            texture: 10.0,
            seed: 9,
            ..Appearance::default()
        };
        r.render(&pose, &varied, 3, &mut b);
        assert_ne!(a.data, b.data);
        let mean = |f: &Frame| f.data.iter().map(|&x| x as f64).sum::<f64>() / f.data.len() as f64;
        assert!(mean(&b) < mean(&a) * 0.8);
        // The red line is still there.
        assert!(red_centre(&b, 460).is_some());
    }
}
