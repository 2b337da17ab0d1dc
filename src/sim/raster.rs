//! The scene renderer: what the simulated camera sees of a [`Scene`] — perspective-correct,
//! mipmapped, textured triangles with a depth buffer, clipped to the camera's near and far
//! distances, over Gazebo's sky (as its camera draws it: a gradient, no clouds) or a world's
//! background.
//!
//! Per frame it looks up the triangles near the camera in a ground-plane grid, drops those
//! whose back faces the camera (as Gazebo does), transforms the rest into the camera frame,
//! clips them at the near plane, and fills each one row by row: the
//! pixels of a row inside a triangle are found from its three edge equations, so no pixel
//! outside is visited. Depth, texture coordinates and the mipmap level are computed per pixel
//! from the attributes' screen-space planes. The sky is a precomputed panorama looked up by
//! each pixel's direction (the car only turns about the vertical, so a pixel's elevation never
//! changes). Everything is deterministic and runs on one core.

use std::sync::{Arc, Mutex};

use crate::base::camera::{CameraConfig, CameraModel};
use crate::base::geometry::Pose2;
use crate::base::sensor::{Encoding, Frame};
use crate::sim::render::{hash32, Appearance};
use crate::sim::scene::{Scene, Sky, Vec3};

/// A fragment at least this fraction of the nearest depth so far wins: coplanar surfaces
/// resolve to the one drawn later instead of flickering with rounding.
const TIE: f32 = 1.0 - 1e-5;
/// Side of a cell of the triangle grid, metres.
const CELL_M: f32 = 4.0;
/// Panorama width (azimuth), texels; a power of two.
const SKY_WIDTH: usize = 1024;
/// Panorama rows per radian of elevation.
const SKY_ROWS_PER_RAD: f32 = 200.0;

/// Triangle indices by ground-plane cell.
struct Grid {
    origin: [f32; 2],
    cols: usize,
    rows: usize,
    cells: Vec<Vec<u32>>,
}

impl Grid {
    fn new(scene: &Scene) -> Grid {
        let b = scene.bounds().unwrap_or([0.0, 0.0, 1.0, 1.0]);
        let cols = (((b[2] - b[0]) / CELL_M).ceil() as usize).max(1);
        let rows = (((b[3] - b[1]) / CELL_M).ceil() as usize).max(1);
        let mut cells = vec![Vec::new(); cols * rows];
        for (i, t) in scene.world_triangles().iter().enumerate() {
            let (mut x0, mut y0, mut x1, mut y1) = (f32::MAX, f32::MAX, f32::MIN, f32::MIN);
            for p in &t.p {
                x0 = x0.min(p[0]);
                y0 = y0.min(p[1]);
                x1 = x1.max(p[0]);
                y1 = y1.max(p[1]);
            }
            let cell = |v: f32, o: f32, n: usize| (((v - o) / CELL_M) as usize).min(n - 1);
            for r in cell(y0, b[1], rows)..=cell(y1, b[1], rows) {
                for c in cell(x0, b[0], cols)..=cell(x1, b[0], cols) {
                    cells[r * cols + c].push(i as u32);
                }
            }
        }
        Grid {
            origin: [b[0], b[1]],
            cols,
            rows,
            cells,
        }
    }
}

/// Extra texture grain (data augmentation), anchored to the texels, so to the world.
#[derive(Clone, Copy)]
struct Grain {
    amplitude: f32,
    seed: u32,
}

impl Grain {
    #[inline]
    fn at(&self, tx: i32, ty: i32, level: usize) -> f32 {
        let k = hash32(
            (tx as u32).wrapping_mul(0x27d4_eb2d)
                ^ (ty as u32).wrapping_mul(0x1656_67b1)
                ^ (level as u32)
                ^ self.seed,
        );
        ((k & 0xffff) as f32 * (1.0 / 65535.0) - 0.5) * 2.0 * self.amplitude
    }
}

/// Pixels that share one mipmap level.
const MIP_RUN: usize = 8;

/// Per-frame working memory.
struct Scratch {
    depth: Vec<f32>,
    /// Per pixel, the index into `draws` of what is visible there ([`EMPTY`]: nothing).
    ids: Vec<u32>,
    draws: Vec<Draw>,
    seen: Vec<u32>,
    stamp: u32,
    near: Vec<u32>,
}

/// No triangle covers the pixel.
const EMPTY: u32 = u32::MAX;

/// What the shading pass needs of a drawn triangle: its attribute planes and colour.
#[derive(Clone, Copy)]
struct Draw {
    w: Plane,
    u: Plane,
    v: Plane,
    shade: [f32; 3],
    flat: [u8; 3],
    texture: Option<u32>,
    /// The scene's triangle, by index.
    triangle: u32,
}

/// Renders a scene as the camera sees it.
pub struct Raster {
    scene: Arc<Scene>,
    camera: CameraModel,
    grid: Grid,
    /// The sky panorama, its rows padded on both sides with wrapped-round columns so that a
    /// row of pixels reads it without wrapping.
    sky: Vec<[u8; 3]>,
    /// Per pixel, where in `sky` it looks when the camera heads along panorama column 0.
    sky_offsets: Vec<u32>,
    /// Half the image's width and height over the focal length, a little more.
    half_width_slope: f32,
    half_height_slope: f32,
    /// Cosine and sine of half the horizontal field of view.
    fov_cos: f32,
    fov_sin: f32,
    /// The car's body triangles the camera can see, in the camera's frame: the body rides
    /// with the camera, so which of them it sees, and where, never changes.
    body: Vec<(u32, [CamVertex; 3])>,
    scratch: Mutex<Scratch>,
}

/// A vertex in the camera frame (x right, y down, z forward) with its texture coordinates.
#[derive(Clone, Copy)]
struct CamVertex {
    p: Vec3,
    uv: [f32; 2],
}

/// The camera placed in a frame (the world's at a pose, or the car's own): where it is, its
/// axes, and the view it keeps.
struct Eye {
    at: Vec3,
    right: Vec3,
    down: Vec3,
    fwd: Vec3,
    near: f32,
    far: f32,
    /// Half the view's width and height over the focal length.
    kx: f32,
    ky: f32,
}

impl Eye {
    /// The camera of `cfg` on a car at (`x`, `y`) heading `yaw`, seeing `kx`, `ky` wide.
    fn new(cfg: &CameraConfig, x: f64, y: f64, yaw: f64, kx: f32, ky: f32) -> Eye {
        let m = &cfg.mount;
        let (sy, cy) = yaw.sin_cos();
        let at = [
            (x + m.forward * cy - m.left * sy) as f32,
            (y + m.forward * sy + m.left * cy) as f32,
            m.height as f32,
        ];
        let (sp, cp) = (m.pitch.sin() as f32, m.pitch.cos() as f32);
        let (sy, cy) = (sy as f32, cy as f32);
        let fwd = [cy * cp, sy * cp, -sp];
        let cross = |a: Vec3, b: Vec3| {
            [
                a[1] * b[2] - a[2] * b[1],
                a[2] * b[0] - a[0] * b[2],
                a[0] * b[1] - a[1] * b[0],
            ]
        };
        let level = [sy, -cy, 0.0];
        // Roll turns the right axis about the forward one, towards down.
        let (sr, cr) = (m.roll.sin() as f32, m.roll.cos() as f32);
        let level_down = cross(fwd, level);
        let right = [0, 1, 2].map(|k| cr * level[k] + sr * level_down[k]);
        let down = cross(fwd, right);
        Eye {
            at,
            right,
            down,
            fwd,
            near: cfg.near_clip as f32,
            far: cfg.far_clip as f32,
            kx,
            ky,
        }
    }

    fn to_cam(&self, p: &Vec3) -> Vec3 {
        let d = [p[0] - self.at[0], p[1] - self.at[1], p[2] - self.at[2]];
        let dot = |a: &Vec3| d[0] * a[0] + d[1] * a[1] + d[2] * a[2];
        [dot(&self.right), dot(&self.down), dot(&self.fwd)]
    }

    /// A triangle's corners and normal (this frame) into the camera frame; `None` for a back
    /// face (Gazebo culls them: the camera must be on the side the corners wind
    /// counter-clockwise around) or one wholly outside the view.
    #[inline]
    fn project(&self, p: &[Vec3; 3], uv: &[[f32; 2]; 3], n: Vec3) -> Option<[CamVertex; 3]> {
        let c = self.at;
        let to_eye = [c[0] - p[0][0], c[1] - p[0][1], c[2] - p[0][2]];
        if n[0] * to_eye[0] + n[1] * to_eye[1] + n[2] * to_eye[2] <= 0.0 {
            return None;
        }
        let v = [0, 1, 2].map(|i| CamVertex {
            p: self.to_cam(&p[i]),
            uv: uv[i],
        });
        let (kx, ky) = (self.kx, self.ky);
        let outside = v.iter().all(|v| v.p[2] < self.near)
            || v.iter().all(|v| v.p[2] > self.far)
            || v.iter().all(|v| v.p[0] > kx * v.p[2])
            || v.iter().all(|v| v.p[0] < -kx * v.p[2])
            || v.iter().all(|v| v.p[1] > ky * v.p[2])
            || v.iter().all(|v| v.p[1] < -ky * v.p[2]);
        (!outside).then_some(v)
    }
}

/// The screen-space plane of an attribute: value = a·x + b·y + c at pixel position (x, y).
#[derive(Clone, Copy, Default)]
struct Plane {
    a: f32,
    b: f32,
    c: f32,
}

impl Plane {
    #[inline]
    fn at(&self, x: f32, y: f32) -> f32 {
        self.a * x + self.b * y + self.c
    }
}

impl Raster {
    /// A renderer of `scene` for `camera`.
    pub fn new(scene: Arc<Scene>, camera: CameraConfig) -> Raster {
        let model = CameraModel::new(camera);
        let grid = Grid::new(&scene);
        let (w, h) = (camera.width as usize, camera.height as usize);
        let (sin_p, cos_p) = camera.mount.pitch.sin_cos();
        let (sin_r, cos_r) = camera.mount.roll.sin_cos();
        // Per pixel: elevation row and azimuth relative to the heading, in panorama columns.
        let mut rays: Vec<(usize, i32)> = Vec::with_capacity(w * h);
        let mut max_elevation = 0.0f32;
        for y in 0..h {
            for x in 0..w {
                let a0 = (x as f64 + 0.5 - model.cx) / model.f;
                let b0 = (y as f64 + 0.5 - model.cy) / model.f;
                // The pixel's ray in the camera's unrolled axes.
                let a = a0 * cos_r - b0 * sin_r;
                let b = a0 * sin_r + b0 * cos_r;
                // Body-frame direction: forward, left, up.
                let fwd = cos_p - b * sin_p;
                let left = -a;
                let up = -sin_p - b * cos_p;
                let elevation = up.atan2(fwd.hypot(left)) as f32;
                let azimuth = left.atan2(fwd) as f32;
                max_elevation = max_elevation.max(elevation);
                rays.push((
                    (elevation.max(0.0) * SKY_ROWS_PER_RAD) as usize,
                    (azimuth / std::f32::consts::TAU * SKY_WIDTH as f32).round() as i32,
                ));
            }
        }
        let sky_rows = (max_elevation.max(0.0) * SKY_ROWS_PER_RAD) as usize + 1;
        let sky_pad = rays
            .iter()
            .map(|r| r.1.unsigned_abs() as usize)
            .max()
            .unwrap_or(0)
            .min(SKY_WIDTH);
        let stride = SKY_WIDTH + 2 * sky_pad;
        let panorama = sky_panorama(sky_rows, scene.sky);
        let sky: Vec<[u8; 3]> = (0..sky_rows)
            .flat_map(|r| {
                let row = &panorama[r * SKY_WIDTH..(r + 1) * SKY_WIDTH];
                (0..stride).map(move |c| row[(c + SKY_WIDTH - sky_pad) % SKY_WIDTH])
            })
            .collect();
        let sky_offsets = rays
            .iter()
            .map(|&(row, azimuth)| {
                (row.min(sky_rows - 1) * stride + (azimuth + sky_pad as i32) as usize) as u32
            })
            .collect();
        let triangles = scene.triangles.len();
        let (kx, ky) = (
            (1.01 * model.cx / model.f) as f32,
            (1.01 * model.cy / model.f) as f32,
        );
        let in_car = Eye::new(&camera, 0.0, 0.0, 0.0, kx, ky);
        let body = scene
            .body
            .clone()
            .filter_map(|t| {
                let tri = &scene.triangles[t];
                in_car
                    .project(&tri.p, &tri.uv, tri.normal())
                    .map(|v| (t as u32, v))
            })
            .collect();
        Raster {
            scene,
            camera: model,
            grid,
            sky,
            sky_offsets,
            half_width_slope: kx,
            half_height_slope: ky,
            fov_cos: (camera.hfov / 2.0).cos() as f32,
            fov_sin: (camera.hfov / 2.0).sin() as f32,
            body,
            scratch: Mutex::new(Scratch {
                depth: vec![0.0; w * h],
                ids: vec![EMPTY; w * h],
                draws: Vec::new(),
                seen: vec![0; triangles],
                stamp: 0,
                near: Vec::new(),
            }),
        }
    }

    /// The camera model.
    pub fn camera(&self) -> &CameraModel {
        &self.camera
    }

    /// The scene.
    pub fn scene(&self) -> &Scene {
        &self.scene
    }

    /// The scene's triangle seen at each pixel of the last frame rendered (row-major; `None`
    /// where the sky or the background shows): what a comparison with a real camera image
    /// measures regions by.
    pub fn surfaces(&self) -> Vec<Option<u32>> {
        let scratch = self.scratch.lock().unwrap_or_else(|p| p.into_inner());
        scratch
            .ids
            .iter()
            .map(|&id| (id != EMPTY).then(|| scratch.draws[id as usize].triangle))
            .collect()
    }

    /// A frame of the camera's size and encoding.
    pub fn new_frame(&self) -> Frame {
        Frame::new_rgb8(self.camera.config.width, self.camera.config.height)
    }

    /// Draws what the camera sees from a car at `pose` into `frame` (which must have the
    /// camera's size; it is made so if not), varied by `appearance` for frame `seq`.
    pub fn render(&self, pose: &Pose2, appearance: &Appearance, seq: u64, frame: &mut Frame) {
        let cfg = &self.camera.config;
        let (w, h) = (cfg.width as usize, cfg.height as usize);
        if frame.width != cfg.width
            || frame.height != cfg.height
            || frame.encoding != Encoding::Rgb8
        {
            *frame = self.new_frame();
        }
        let step = frame.step as usize;
        let mut guard = self.scratch.lock().unwrap_or_else(|p| p.into_inner());
        let scratch = &mut *guard;

        // The camera in the world at this pose.
        let eye = Eye::new(
            cfg,
            pose.p.x,
            pose.p.y,
            pose.yaw,
            self.half_width_slope,
            self.half_height_slope,
        );
        let (cam, near, far) = (eye.at, eye.near, eye.far);
        let (sy, cy) = (pose.yaw.sin() as f32, pose.yaw.cos() as f32);
        scratch.depth.fill(1.0 / far);
        scratch.ids.fill(EMPTY);
        scratch.draws.clear();

        // Triangles in cells within the far distance, and in front of the camera.
        scratch.stamp = scratch.stamp.wrapping_add(1);
        if scratch.stamp == 0 {
            scratch.seen.fill(0);
            scratch.stamp = 1;
        }
        scratch.near.clear();
        let g = &self.grid;
        let reach = far + CELL_M;
        let cell = |v: f32, o: f32, n: usize| {
            ((v - o) / CELL_M).floor().clamp(0.0, n as f32 - 1.0) as usize
        };
        let (c0, c1) = (
            cell(cam[0] - reach, g.origin[0], g.cols),
            cell(cam[0] + reach, g.origin[0], g.cols),
        );
        let (r0, r1) = (
            cell(cam[1] - reach, g.origin[1], g.rows),
            cell(cam[1] + reach, g.origin[1], g.rows),
        );
        let half_diagonal = CELL_M * std::f32::consts::FRAC_1_SQRT_2;
        for r in r0..=r1 {
            for c in c0..=c1 {
                let centre = [
                    g.origin[0] + (c as f32 + 0.5) * CELL_M - cam[0],
                    g.origin[1] + (r as f32 + 0.5) * CELL_M - cam[1],
                ];
                let ahead = centre[0] * cy + centre[1] * sy;
                let left = -centre[0] * sy + centre[1] * cy;
                // Behind, too far, or beyond the left or right edge of the view.
                if ahead < -half_diagonal
                    || centre[0].hypot(centre[1]) > reach
                    || left.abs() * self.fov_cos - ahead * self.fov_sin > half_diagonal
                {
                    continue;
                }
                for &t in &g.cells[r * g.cols + c] {
                    if scratch.seen[t as usize] != scratch.stamp {
                        scratch.seen[t as usize] = scratch.stamp;
                        scratch.near.push(t);
                    }
                }
            }
        }

        // In scene order, paint on top last: of two coplanar surfaces the later wins (OGRE's
        // less-or-equal depth test), and the line a pilot follows shows over what it was
        // painted on, as in Gazebo's views of Behavior Metrics' circuits.
        let key = |t: &u32| {
            let tri = &self.scene.triangles[*t as usize];
            (self.scene.materials[tri.material as usize].on_top, *t)
        };
        scratch.near.sort_unstable_by_key(key);
        let near_list = std::mem::take(&mut scratch.near);
        for &t in &near_list {
            let tri = &self.scene.triangles[t as usize];
            if let Some(v) = eye.project(&tri.p, &tri.uv, tri.normal()) {
                self.visibility(t, tri.shade, &v, near, scratch);
            }
        }
        scratch.near = near_list;

        // The car's body, where the camera sees it, lit for the way the car faces now.
        for (t, v) in &self.body {
            let tri = &self.scene.triangles[*t as usize];
            let n = tri.normal();
            let n = [n[0] * cy - n[1] * sy, n[0] * sy + n[1] * cy, n[2]];
            let shade = self.scene.shade(n, tri.material);
            self.visibility(*t, shade, v, near, scratch);
        }

        // Shading: each pixel once, with what is visible there; the sky (or, below the
        // horizon, the horizon's colour) where nothing is.
        let grain = Grain {
            amplitude: appearance.texture,
            seed: hash32(appearance.seed as u32 ^ 0x85eb_ca6b),
        };
        let yaw = pose.yaw as f32;
        let az0 = (yaw / std::f32::consts::TAU * SKY_WIDTH as f32).round() as i32;
        // The heading's panorama column, in 0..SKY_WIDTH: a pixel's column then lies within
        // the padded row.
        let col0 = az0.rem_euclid(SKY_WIDTH as i32) as usize;
        for y in 0..h {
            let row = &mut frame.data[y * step..y * step + w * 3];
            let ids = &scratch.ids[y * w..(y + 1) * w];
            let drow = &scratch.depth[y * w..(y + 1) * w];
            let sky_offsets = &self.sky_offsets[y * w..(y + 1) * w];
            let py = y as f32 + 0.5;
            let mut x = 0;
            while x < w {
                let id = ids[x];
                // A run of pixels showing the same triangle.
                // Textured runs share a mipmap level, so they are kept short.
                let limit = match scratch.draws.get(id as usize) {
                    Some(d) if d.texture.is_some() => MIP_RUN,
                    _ => w,
                };
                let stop = w.min(x + limit);
                let mut end = x + 1;
                while end + 4 <= stop && ids[end..end + 4] == [id; 4] {
                    end += 4;
                }
                while end < stop && ids[end] == id {
                    end += 1;
                }
                let out = &mut row[3 * x..3 * end];
                if id == EMPTY {
                    for (o, &offset) in out.chunks_exact_mut(3).zip(&sky_offsets[x..end]) {
                        o.copy_from_slice(&self.sky[offset as usize + col0]);
                    }
                } else {
                    let d = &scratch.draws[id as usize];
                    match d.texture {
                        None => {
                            for o in out.chunks_exact_mut(3) {
                                o.copy_from_slice(&d.flat);
                            }
                        }
                        Some(tex) => {
                            let tex = &self.scene.textures[tex as usize];
                            shade_run(tex, d, drow, row, x, end, py, grain);
                        }
                    }
                }
                x = end;
            }
        }
        drop(guard);
        appearance.apply(seq, frame);
    }

    /// Clips the triangle at the near plane and marks the pixels where it is the nearest.
    fn visibility(
        &self,
        t: u32,
        shade: [f32; 3],
        v: &[CamVertex; 3],
        near: f32,
        scratch: &mut Scratch,
    ) {
        let tri = &self.scene.triangles[t as usize];
        // Sutherland–Hodgman against z ≥ near: at most four corners.
        let mut poly = [v[0]; 4];
        let mut n = 0;
        for i in 0..3 {
            let (a, b) = (v[i], v[(i + 1) % 3]);
            let (ia, ib) = (a.p[2] >= near, b.p[2] >= near);
            if ia {
                poly[n] = a;
                n += 1;
            }
            if ia != ib {
                let t = (near - a.p[2]) / (b.p[2] - a.p[2]);
                let lerp = |x: f32, y: f32| x + (y - x) * t;
                poly[n] = CamVertex {
                    p: [lerp(a.p[0], b.p[0]), lerp(a.p[1], b.p[1]), near],
                    uv: [lerp(a.uv[0], b.uv[0]), lerp(a.uv[1], b.uv[1])],
                };
                n += 1;
            }
        }
        if n < 3 {
            return;
        }
        let cam = &self.camera;
        let (f, cx, cy) = (cam.f as f32, cam.cx as f32, cam.cy as f32);
        // Screen position, 1/z, u/z, v/z per corner.
        let s = poly[..n]
            .iter()
            .map(|c| {
                let w = 1.0 / c.p[2];
                [
                    cx + f * c.p[0] * w,
                    cy + f * c.p[1] * w,
                    w,
                    c.uv[0] * w,
                    c.uv[1] * w,
                ]
            })
            .collect::<corners::Corners>();
        // Attribute planes from the first three corners (all corners lie on them).
        let (p0, p1, p2) = (s.get(0), s.get(1), s.get(2));
        let det = (p1[0] - p0[0]) * (p2[1] - p0[1]) - (p2[0] - p0[0]) * (p1[1] - p0[1]);
        if det.abs() < 1e-9 {
            return;
        }
        let plane = |k: usize| {
            let a = ((p1[k] - p0[k]) * (p2[1] - p0[1]) - (p2[k] - p0[k]) * (p1[1] - p0[1])) / det;
            let b = ((p2[k] - p0[k]) * (p1[0] - p0[0]) - (p1[k] - p0[k]) * (p2[0] - p0[0])) / det;
            Plane {
                a,
                b,
                c: p0[k] - a * p0[0] - b * p0[1],
            }
        };
        let pw = plane(2);
        let material = &self.scene.materials[tri.material as usize];
        let id = scratch.draws.len() as u32;
        scratch.draws.push(Draw {
            w: pw,
            u: plane(3),
            v: plane(4),
            shade,
            flat: shade.map(|c| (c * 255.0).clamp(0.0, 255.0) as u8),
            texture: material.texture.map(|t| t as u32),
            triangle: t,
        });
        let (w, h) = (cam.config.width as usize, cam.config.height as usize);
        for k in 1..n - 1 {
            let (a, b, c) = (s.get(0), s.get(k), s.get(k + 1));
            let ymin = a[1].min(b[1]).min(c[1]).max(0.0);
            let ymax = a[1].max(b[1]).max(c[1]).min(h as f32);
            let (y0, y1) = (
                (-floor_i32(0.5 - ymin)).max(0) as usize,
                (floor_i32(ymax - 0.5) as isize).min(h as isize - 1),
            );
            if y1 < y0 as isize {
                continue;
            }
            // The span of a row is between the edges it crosses.
            let corners = [a, b, c];
            for y in y0..=y1 as usize {
                let py = y as f32 + 0.5;
                let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
                for e in 0..3 {
                    let (p, q) = (corners[e], corners[(e + 1) % 3]);
                    if (p[1] <= py && q[1] >= py) || (q[1] <= py && p[1] >= py) {
                        if (q[1] - p[1]).abs() < 1e-12 {
                            lo = lo.min(p[0].min(q[0]));
                            hi = hi.max(p[0].max(q[0]));
                        } else {
                            let x = p[0] + (py - p[1]) * (q[0] - p[0]) / (q[1] - p[1]);
                            lo = lo.min(x);
                            hi = hi.max(x);
                        }
                    }
                }
                if hi < lo {
                    continue;
                }
                let x0 = (-floor_i32(0.5 - lo.max(-1e6))).max(0) as usize;
                let x1 = (floor_i32(hi.min(1e6) - 0.5) as isize).min(w as isize - 1);
                if x1 < x0 as isize {
                    continue;
                }
                let x1 = x1 as usize;
                let drow = &mut scratch.depth[y * w + x0..=y * w + x1];
                let irow = &mut scratch.ids[y * w + x0..=y * w + x1];
                let z0 = pw.at(x0 as f32 + 0.5, py);
                // Branch-free, so it vectorises.
                for (k, (d, i)) in drow.iter_mut().zip(irow.iter_mut()).enumerate() {
                    let z = z0 + pw.a * k as f32;
                    let wins = z >= *d * TIE;
                    *d = if wins { z } else { *d };
                    *i = if wins { id } else { *i };
                }
            }
        }
    }
}

/// Shades pixels `x..end` of a row showing the textured triangle `d`: the mipmap level once
/// for the run, texture coordinates perspective-correct at the run's first and last pixels
/// and stepped linearly between them in 16.16 fixed point. A run is at most [`MIP_RUN`]
/// pixels, over which the perspective curve departs from its chord by far less than a texel
/// (and not at all on the level ground, whose depth is constant along a row).
#[allow(clippy::too_many_arguments)]
#[inline]
fn shade_run(
    tex: &crate::sim::scene::Texture,
    d: &Draw,
    drow: &[f32],
    row: &mut [u8],
    x: usize,
    end: usize,
    py: f32,
    grain: Grain,
) {
    let top = tex.levels[0].log2_size as f32;
    let size0 = (1u32 << tex.levels[0].log2_size) as f32;
    let px = x as f32 + 0.5;
    let inv = 1.0 / drow[x].max(1e-12);
    let (u, v) = (d.u.at(px, py) * inv, d.v.at(px, py) * inv);
    // Texels per pixel, from the derivatives of u and v.
    let dudx = (d.u.a - u * d.w.a) * inv;
    let dvdx = (d.v.a - v * d.w.a) * inv;
    let dudy = (d.u.b - u * d.w.b) * inv;
    let dvdy = (d.v.b - v * d.w.b) * inv;
    let rho2 = (dudx * dudx + dvdx * dvdx).max(dudy * dudy + dvdy * dvdy) * size0 * size0;
    let level = (0.5 * fast_log2(rho2)).clamp(0.0, top) as usize;
    let l = &tex.levels[level];
    let (log2, mask) = (l.log2_size, (1i32 << l.log2_size) - 1);

    // Texel coordinates in 16.16, relative to the texture repeat the run starts in (so
    // that they stay small however often the texture repeats across the world).
    let n = end - x;
    let scale = (1i32 << log2) as f32 * 65536.0;
    let (u0, v0) = (floor_i32(u) as f32, floor_i32(v) as f32);
    let fixed = |t: f32, origin: f32| ((t - origin) * scale) as i32;
    let (mut tu, mut tv) = (fixed(u, u0), fixed(v, v0));
    let (du, dv) = if n > 1 {
        let last = (end - 1) as f32 + 0.5;
        let inv = 1.0 / drow[end - 1].max(1e-12);
        let (u1, v1) = (d.u.at(last, py) * inv, d.v.at(last, py) * inv);
        let per_step = scale / (n - 1) as f32;
        (((u1 - u) * per_step) as i32, ((v1 - v) * per_step) as i32)
    } else {
        (0, 0)
    };
    let out = &mut row[3 * x..3 * end];
    if grain.amplitude > 0.0 {
        for o in out.chunks_exact_mut(3) {
            let (tx, ty) = ((tu >> 16) & mask, (tv >> 16) & mask);
            let t = l.texels[((ty << log2) | tx) as usize];
            let g = grain.at(tx, ty, level);
            o[0] = (t[0] as f32 * d.shade[0] + g) as u8;
            o[1] = (t[1] as f32 * d.shade[1] + g) as u8;
            o[2] = (t[2] as f32 * d.shade[2] + g) as u8;
            tu = tu.wrapping_add(du);
            tv = tv.wrapping_add(dv);
        }
    } else {
        // The plain case in integers: texel × shade in 8.8 fixed point.
        let k = d.shade.map(|c| (c * 256.0).clamp(0.0, 65535.0) as u32);
        let steps = Steps {
            tu,
            tv,
            du,
            dv,
            mask,
        };
        if k.iter().all(|&k| k <= 256) {
            // A texel (≤ 255) times at most 1.0 cannot overflow a byte.
            modulate::<false>(&l.texels, log2, steps, k, out);
        } else {
            modulate::<true>(&l.texels, log2, steps, k, out);
        }
    }
}

/// Texel coordinates along a run in 16.16 fixed point: start, step, and the wrap mask.
#[derive(Clone, Copy)]
struct Steps {
    tu: i32,
    tv: i32,
    du: i32,
    dv: i32,
    mask: i32,
}

/// Writes texel × `k` (8.8 fixed point) for each pixel of `out` along `steps`, saturating at
/// 255 when `SATURATE`.
#[inline]
fn modulate<const SATURATE: bool>(
    texels: &[[u8; 4]],
    log2: u32,
    steps: Steps,
    k: [u32; 3],
    out: &mut [u8],
) {
    let Steps {
        mut tu,
        mut tv,
        du,
        dv,
        mask,
    } = steps;
    let channel = |t: u8, k: u32| {
        let c = (t as u32 * k) >> 8;
        if SATURATE {
            c.min(255) as u8
        } else {
            c as u8
        }
    };
    for o in out.chunks_exact_mut(3) {
        let (tx, ty) = ((tu >> 16) & mask, (tv >> 16) & mask);
        let t = texels[((ty << log2) | tx) as usize];
        o[0] = channel(t[0], k[0]);
        o[1] = channel(t[1], k[1]);
        o[2] = channel(t[2], k[2]);
        tu = tu.wrapping_add(du);
        tv = tv.wrapping_add(dv);
    }
}

/// ⌊x⌋ as an integer, without a library call (baseline x86-64 has no SSE4.1 `roundss`).
#[inline(always)]
fn floor_i32(x: f32) -> i32 {
    let i = x as i32;
    i - ((i as f32) > x) as i32
}

/// log2 of a positive number, within 0.1 (the exponent and a linear mantissa).
#[inline]
fn fast_log2(x: f32) -> f32 {
    let bits = x.max(1e-30).to_bits();
    let exponent = ((bits >> 23) & 0xff) as f32 - 127.0;
    let mantissa = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    exponent + mantissa - 1.0
}

/// At most four screen corners of a clipped triangle, without allocating.
mod corners {
    /// Up to four corners: x, y, 1/z, u/z, v/z.
    pub struct Corners {
        items: [[f32; 5]; 4],
        len: usize,
    }

    impl Corners {
        pub fn get(&self, i: usize) -> [f32; 5] {
            debug_assert!(i < self.len);
            self.items[i]
        }
    }

    impl FromIterator<[f32; 5]> for Corners {
        fn from_iter<I: IntoIterator<Item = [f32; 5]>>(iter: I) -> Self {
            let mut c = Corners {
                items: [[0.0; 5]; 4],
                len: 0,
            };
            for item in iter.into_iter().take(4) {
                c.items[c.len] = item;
                c.len += 1;
            }
            c
        }
    }
}

/// Gazebo's sky over Behavior Metrics' worlds as its F1 camera draws it: RGB against
/// elevation above the horizon (radians), the median over the ten raw frames of
/// `../shared/gazebo-frames` of each row's sky pixels (their blue exceeding their red by 15
/// and 140), rows 0-237 of a level camera. Between entries the colour is interpolated;
/// beyond them it is held.
const SKY_GRADIENT: [(f32, [f32; 3]); 12] = [
    (0.008, [194.0, 204.0, 221.0]),
    (0.023, [192.0, 203.0, 223.0]),
    (0.045, [189.0, 201.0, 223.0]),
    (0.076, [184.0, 196.0, 224.0]),
    (0.123, [177.0, 191.0, 224.0]),
    (0.184, [166.0, 181.0, 221.0]),
    (0.273, [151.0, 167.0, 215.0]),
    (0.357, [138.0, 154.0, 207.0]),
    (0.437, [127.0, 144.0, 200.0]),
    (0.511, [119.0, 135.0, 193.0]),
    (0.579, [111.0, 127.0, 186.0]),
    (0.642, [105.0, 121.0, 181.0]),
];

/// The sky's colour at `elevation` radians above the horizon.
fn gradient(elevation: f32) -> [u8; 3] {
    let first = SKY_GRADIENT[0];
    let last = SKY_GRADIENT[SKY_GRADIENT.len() - 1];
    let rgb = if elevation <= first.0 {
        first.1
    } else if elevation >= last.0 {
        last.1
    } else {
        let k = SKY_GRADIENT
            .windows(2)
            .position(|w| elevation < w[1].0)
            .unwrap_or(0);
        let ((e0, c0), (e1, c1)) = (SKY_GRADIENT[k], SKY_GRADIENT[k + 1]);
        let t = (elevation - e0) / (e1 - e0);
        [0, 1, 2].map(|i| c0[i] + (c1[i] - c0[i]) * t)
    };
    rgb.map(|c| c.round() as u8)
}

/// The sky as a panorama: `rows` rows of elevation from the horizon up, [`SKY_WIDTH`]
/// columns of azimuth — `sky`'s gradient, the same all round, or its flat background.
fn sky_panorama(rows: usize, sky: Sky) -> Vec<[u8; 3]> {
    (0..rows)
        .flat_map(|r| {
            let colour = match sky {
                Sky::Gradient => gradient(r as f32 / SKY_ROWS_PER_RAD),
                Sky::Background(c) => c,
            };
            std::iter::repeat_n(colour, SKY_WIDTH)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::geometry::Vec2;
    use crate::sim::scene::{Material, Shading, DEFAULT_MATERIAL_AMBIENT};

    /// A flat red square 10 m on a side, centred 5 m ahead of the origin, on the ground.
    fn square(shading: Shading) -> Arc<Scene> {
        let mut s = Scene::new();
        let m = s.add_material(Material {
            name: "red".into(),
            color: [1.0, 0.0, 0.0],
            ambient: DEFAULT_MATERIAL_AMBIENT,
            texture: None,
            shading,
            on_top: false,
        });
        let q = [
            [0.0f32, -5.0, 0.0],
            [10.0, -5.0, 0.0],
            [10.0, 5.0, 0.0],
            [0.0, 5.0, 0.0],
        ];
        s.add_triangle([q[0], q[1], q[2]], [[0.0; 2]; 3], m);
        s.add_triangle([q[0], q[2], q[3]], [[0.0; 2]; 3], m);
        Arc::new(s)
    }

    fn frame_of(scene: Arc<Scene>, camera: CameraConfig, pose: Pose2) -> Frame {
        let r = Raster::new(scene, camera);
        let mut f = r.new_frame();
        r.render(&pose, &Appearance::default(), 0, &mut f);
        f
    }

    #[test]
    fn the_ground_below_the_horizon_and_the_sky_above_it() {
        let f = frame_of(
            square(Shading::Lambert),
            CameraConfig::behavior_metrics_f1(),
            Pose2::default(),
        );
        // The bottom rows see the square (0.58 m ahead and on): Gazebo's lit red.
        assert_eq!(f.rgb(320, 470), [177, 0, 0]);
        // Above the horizon: sky, bluish.
        let [r, g, b] = f.rgb(320, 100);
        assert!(b > r && b > g && r > 100, "{r} {g} {b}");
        // The square ends 10 m ahead, 3.2 px below the horizon at 0.1 m: above that, no red.
        assert_ne!(f.rgb(320, 241), [177, 0, 0]);
        assert_eq!(f.rgb(320, 246), [177, 0, 0]);
    }

    #[test]
    fn a_rolled_camera_tilts_the_horizon() {
        let top_red = |f: &Frame, x: u32| (0..f.height).find(|&y| f.rgb(x, y) == [177, 0, 0]);
        let level = frame_of(
            square(Shading::Lambert),
            CameraConfig::behavior_metrics_f1(),
            Pose2::default(),
        );
        assert_eq!(top_red(&level, 100), top_red(&level, 540));
        let mut camera = CameraConfig::behavior_metrics_f1();
        camera.mount.roll = 0.05;
        let rolled = frame_of(square(Shading::Lambert), camera, Pose2::default());
        // Right side lowered: the far edge climbs to the right, by 440 px × tan 0.05.
        let (left, right) = (
            top_red(&rolled, 100).unwrap() as f64,
            top_red(&rolled, 540).unwrap() as f64,
        );
        assert!(
            (left - right - 440.0 * 0.05f64.tan()).abs() < 3.0,
            "{left} {right}"
        );
    }

    #[test]
    fn the_projection_matches_the_camera_model() {
        // A thin strip across the road 3 m ahead: its rows are where the camera model puts
        // a ground point 3 m ahead.
        let mut s = Scene::new();
        let m = s.add_material(Material {
            name: "white".into(),
            color: [1.0; 3],
            ambient: DEFAULT_MATERIAL_AMBIENT,
            texture: None,
            shading: Shading::Constant,
            on_top: false,
        });
        let q = [
            [2.95f32, -5.0, 0.0],
            [3.05, -5.0, 0.0],
            [3.05, 5.0, 0.0],
            [2.95, 5.0, 0.0],
        ];
        s.add_triangle([q[0], q[1], q[2]], [[0.0; 2]; 3], m);
        s.add_triangle([q[0], q[2], q[3]], [[0.0; 2]; 3], m);
        let camera = CameraConfig::classic();
        let f = frame_of(Arc::new(s), camera, Pose2::default());
        let model = CameraModel::new(camera);
        let (_, v) = model.ground_to_pixel(Vec2::new(3.0, 0.0)).unwrap();
        assert_eq!(f.rgb(320, v as u32), [255, 255, 255], "row {v}");
        assert_ne!(f.rgb(320, v as u32 + 12), [255, 255, 255]);
        assert_ne!(f.rgb(320, v as u32 - 12), [255, 255, 255]);
    }

    #[test]
    fn nothing_beyond_the_far_clip_and_the_same_frame_twice() {
        let mut camera = CameraConfig::behavior_metrics_f1();
        camera.far_clip = 2.0;
        let f = frame_of(square(Shading::Constant), camera, Pose2::default());
        // 2 m ahead at 0.1 m height is 16 px below the horizon; above that the square is cut.
        assert_eq!(f.rgb(320, 470), [255, 0, 0]);
        assert_ne!(f.rgb(320, 250), [255, 0, 0]);
        let again = frame_of(square(Shading::Constant), camera, Pose2::default());
        assert_eq!(f.data, again.data);
    }

    #[test]
    fn floor_is_floor() {
        for x in [-2.5f32, -1.0, -0.2, 0.0, 0.7, 3.0, 1e6] {
            assert_eq!(floor_i32(x), x.floor() as i32, "{x}");
        }
    }

    #[test]
    fn log2_is_close() {
        for x in [0.01f32, 0.5, 1.0, 3.0, 1000.0] {
            assert!((fast_log2(x) - x.log2()).abs() < 0.1, "{x}");
        }
    }
}
