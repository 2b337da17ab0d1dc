//! A real camera image beside the simulator's picture of the same place: what Gazebo's F1
//! camera showed and what the renderer draws there, region by region and in the red line's
//! geometry — the measure the renderer is calibrated by.
//!
//! - **The pose.** Given, or searched: the red band's centre at the rows of [`ROWS`] in the
//!   real image, projected onto the ground through the camera, is laid onto the world's red
//!   line — from each of its points (every 0.2 m of a traced world's line), both ways round,
//!   over headings within 0.1 rad, the best then refined — and the pose whose projected
//!   points lie nearest the line is used. A
//!   straight stretch matches anywhere along it (the picture is the same); the pose is stated.
//! - **Regions**, from what the renderer drew at each pixel: the sky in the top rows, the sky
//!   just above the horizon, walls (vertical faces), asphalt (the ground's commonest material
//!   below row 300), the line (its material). Each is shrunk by two pixels from its edges, and
//!   the mean colour of the same pixels is taken in both pictures.
//! - **The line's geometry** in each picture by itself: the centre column and width of the
//!   widest red band on each row of [`ROWS`].

use std::path::{Path, PathBuf};

use serde::Serialize;
use thiserror::Error;

use crate::base::camera::CameraModel;
use crate::base::geometry::{wrap_angle, ClosedPolyline, Pose2, Vec2};
use crate::base::sensor::Frame;
use crate::sim::raster::Raster;
use crate::sim::render::Appearance;
use crate::sim::scene::Scene;
use crate::sim::track::{Scenery, Track};
use crate::tools::dataset::read_image;

/// The rows the line's geometry is measured on (Behavior Metrics' brains see rows 240-480).
pub const ROWS: [u32; 4] = [300, 360, 420, 470];
/// Rows of sky measured at the top of the picture.
const SKY_TOP_ROWS: u32 = 30;
/// Rows of sky measured just above the horizon (ending 3 rows above it).
const SKY_HORIZON_ROWS: u32 = 25;
/// Pixels a region is shrunk by from its edges.
const SHRINK: usize = 2;

/// Why a comparison could not be made. Every error names the input.
#[derive(Debug, Error)]
pub enum CompareError {
    /// The camera image is unusable.
    #[error("image {path}: {reason}")]
    Image {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// The track has no scene to render (the classic look).
    #[error("the {0} circuit is drawn in the classic look: compare needs Behavior Metrics' look or a Gazebo world")]
    NoScene(String),
    /// The pose given lies off the road.
    #[error("pose ({x:.2}, {y:.2}): {distance:.2} m from the line, off the {road:.1} m road")]
    OffRoad {
        /// The pose given.
        x: f64,
        /// The pose given.
        y: f64,
        /// Its distance to the line, metres.
        distance: f64,
        /// The road's width, metres.
        road: f64,
    },
    /// No pose puts the image's line on the world's line.
    #[error("image {path}: {reason}")]
    NoMatch {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// The red band on one row.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LineCut {
    /// The row.
    pub row: u32,
    /// Centre column of the widest red band (pixel centres at +0.5), if there is one.
    pub centre: Option<f64>,
    /// Its width, pixels.
    pub width: Option<f64>,
}

/// Whether a pixel is the red line's: clearly redder than it is green or blue. Holds for
/// every line colour Gazebo's frames show, dark (76, 0, 0) to salmon (255, 102, 102), and not
/// for asphalt, walls or sky.
fn is_red([r, g, b]: [u8; 3]) -> bool {
    let (r, m) = (r as f32, g.max(b) as f32);
    r > 1.5 * m + 30.0
}

/// The red band's centre and width on each row of [`ROWS`].
pub fn line_cuts(frame: &Frame) -> Vec<LineCut> {
    cuts_at(frame, &ROWS)
}

/// Rows a pose is searched by: every 5 from just below the horizon to the bottom.
const SEARCH_ROWS: std::ops::Range<u32> = 250..480;

/// The red band's centre and width on each of `rows`.
fn cuts_at(frame: &Frame, rows: &[u32]) -> Vec<LineCut> {
    rows.iter()
        .map(|&row| {
            let mut best: Option<(u32, u32)> = None; // (start, length)
            let mut run: Option<u32> = None;
            for x in 0..=frame.width {
                let red = x < frame.width && row < frame.height && is_red(frame.rgb(x, row));
                match (red, run) {
                    (true, None) => run = Some(x),
                    (false, Some(start)) => {
                        let len = x - start;
                        if best.is_none_or(|(_, l)| len > l) {
                            best = Some((start, len));
                        }
                        run = None;
                    }
                    _ => {}
                }
            }
            LineCut {
                row,
                centre: best.map(|(s, l)| s as f64 + l as f64 / 2.0),
                width: best.map(|(_, l)| l as f64),
            }
        })
        .collect()
}

/// What a pixel shows, as the renderer drew it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Sky,
    Wall,
    Ground(u32),
    Line,
    /// The car's own body (the old car's shows in its camera): in no region.
    Car,
}

/// Each pixel's kind, from the triangle the renderer drew there.
fn kinds(scene: &Scene, surfaces: &[Option<u32>]) -> Vec<Kind> {
    surfaces
        .iter()
        .map(|s| match s {
            None => Kind::Sky,
            Some(t) if scene.body.contains(&(*t as usize)) => Kind::Car,
            Some(t) => {
                let tri = &scene.triangles[*t as usize];
                let n = tri.normal();
                let len = (n[0] * n[0] + n[1] * n[1] + n[2] * n[2]).sqrt();
                if n[2].abs() < 0.5 * len {
                    // A wall, whatever its paint: pista's are partly the line's red.
                    Kind::Wall
                } else if scene.materials[tri.material as usize].on_top {
                    Kind::Line
                } else {
                    Kind::Ground(tri.material)
                }
            }
        })
        .collect()
}

/// One region's mean colour in both pictures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RegionColour {
    /// The region.
    pub region: &'static str,
    /// Pixels measured (the same in both pictures).
    pub pixels: usize,
    /// Mean RGB of the real image there.
    pub real: [f64; 3],
    /// Mean RGB of the rendered picture there.
    pub rendered: [f64; 3],
    /// rendered − real, per channel.
    pub difference: [f64; 3],
}

/// The regions' masks: pixels of one kind whose neighbours [`SHRINK`] pixels away are of
/// the same kind, selected by row.
fn regions(
    kinds: &[Kind],
    width: usize,
    height: usize,
    horizon: f64,
) -> Vec<(&'static str, Vec<usize>)> {
    let kind_at = |x: isize, y: isize| -> Option<Kind> {
        (x >= 0 && y >= 0 && (x as usize) < width && (y as usize) < height)
            .then(|| kinds[y as usize * width + x as usize])
    };
    let inner = |i: usize| {
        let (x, y) = ((i % width) as isize, (i / width) as isize);
        let k = Some(kinds[i]);
        let d = SHRINK as isize;
        [(d, 0), (-d, 0), (0, d), (0, -d)]
            .iter()
            .all(|(dx, dy)| kind_at(x + dx, y + dy).is_none_or(|n| Some(n) == k))
    };
    // The asphalt: the commonest ground material below row 300.
    let mut counts: std::collections::HashMap<u32, usize> = Default::default();
    for (i, k) in kinds.iter().enumerate() {
        if let Kind::Ground(m) = k {
            if i / width >= 300 {
                *counts.entry(*m).or_default() += 1;
            }
        }
    }
    let asphalt = counts
        .into_iter()
        .max_by_key(|(m, n)| (*n, *m))
        .map(|(m, _)| m);
    let horizon_top = (horizon - 3.0 - SKY_HORIZON_ROWS as f64).max(0.0) as usize;
    let horizon_bottom = (horizon - 3.0).max(0.0) as usize;
    let pick = |want: &dyn Fn(usize, Kind) -> bool| -> Vec<usize> {
        (0..kinds.len())
            .filter(|&i| want(i / width, kinds[i]) && inner(i))
            .collect()
    };
    vec![
        (
            "sky, top",
            pick(&|y, k| k == Kind::Sky && y < SKY_TOP_ROWS as usize),
        ),
        (
            "sky, horizon",
            pick(&|y, k| k == Kind::Sky && y >= horizon_top && y < horizon_bottom),
        ),
        ("walls", pick(&|_, k| k == Kind::Wall)),
        (
            "asphalt",
            pick(&|y, k| y >= 300 && asphalt.is_some_and(|a| k == Kind::Ground(a))),
        ),
        ("line", pick(&|_, k| k == Kind::Line)),
    ]
}

fn mean(frame: &Frame, pixels: &[usize]) -> [f64; 3] {
    let w = frame.width as usize;
    let mut sum = [0.0; 3];
    for &i in pixels {
        let c = frame.rgb((i % w) as u32, (i / w) as u32);
        for k in 0..3 {
            sum[k] += c[k] as f64;
        }
    }
    let n = pixels.len().max(1) as f64;
    sum.map(|s| s / n)
}

/// Where on the world's line a pose is.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PoseOnLine {
    /// The pose, world frame.
    pub x: f64,
    /// The pose, world frame.
    pub y: f64,
    /// The pose's heading, radians.
    pub yaw: f64,
    /// Metres along the line from its first point.
    pub along_m: f64,
    /// Metres left of the line.
    pub lateral_m: f64,
    /// Heading relative to the line's direction there, radians (near π: driving it the
    /// other way round).
    pub heading_offset_rad: f64,
    /// Searched (true) or given.
    pub searched: bool,
    /// With a search: the root mean square distance of the image's line points, laid onto
    /// the ground from this pose, to the world's line, metres.
    pub fit_m: Option<f64>,
}

/// The real image's line points on the ground, in the car's frame, from its cuts (those
/// whose band the image's edge cuts off give no centre and are left out).
fn ground_points(camera: &CameraModel, cuts: &[LineCut]) -> Vec<Vec2> {
    let width = camera.config.width as f64;
    cuts.iter()
        .filter_map(|c| {
            let (centre, w) = (c.centre?, c.width?);
            if centre - w / 2.0 <= 0.0 || centre + w / 2.0 >= width {
                return None;
            }
            camera
                .pixel_to_ground(centre, c.row as f64 + 0.5)
                .map(|(p, _)| p)
        })
        .collect()
}

/// How far `points` (car frame) placed at `pose` lie from `line`: the sum of their squared
/// distances, each over its distance ahead — in angle, as the camera sees a miss, so the far
/// points count as much as the near ones.
fn misfit(line: &ClosedPolyline, pose: &Pose2, points: &[Vec2], hint: usize) -> f64 {
    let window = (6.0 / (line.length() / line.len() as f64)).ceil() as usize;
    points
        .iter()
        .map(|q| {
            let d = line.project_near(pose.to_world(*q), hint, window).distance;
            (d / q.x.max(0.1)).powi(2)
        })
        .sum()
}

/// The pose whose view puts `points` (the image's line, car frame, nearest first) on `line`.
///
/// Each point of the line (every 0.2 m of a traced world's line), both ways round, is tried as where the nearest
/// image point lies: the heading then follows from the image line's direction there (tried
/// within ±0.1 rad of it), the position from both; the best of these, scored on a handful of
/// the points, is refined on all of them by ever finer steps.
fn search(line: &ClosedPolyline, points: &[Vec2]) -> Option<(Pose2, f64)> {
    let q0 = *points.first()?;
    // The image line's direction at its near end: towards the first point a metre on.
    let q1 = points
        .iter()
        .find(|q| q.dist(q0) >= 1.0)
        .or(points.last())
        .copied()?;
    let seen = (q1 - q0).y.atan2((q1 - q0).x);
    let few: Vec<Vec2> = {
        let k = (points.len() / 6).max(1);
        points.iter().step_by(k).copied().collect()
    };
    let mut candidates: Vec<(f64, Pose2)> = Vec::new();
    for i in 0..line.len() {
        let (p, t) = line.at(line.arc_length_at(i));
        let tangent = t.y.atan2(t.x);
        for back in [0.0, std::f64::consts::PI] {
            for h in -5..=5 {
                let yaw = tangent + back - seen + h as f64 * 0.02;
                let (sy, cy) = yaw.sin_cos();
                let at = Pose2 {
                    p: p - Vec2::new(cy * q0.x - sy * q0.y, sy * q0.x + cy * q0.y),
                    yaw,
                };
                candidates.push((misfit(line, &at, &few, i), at));
            }
        }
    }
    candidates.sort_by(|a, b| a.0.total_cmp(&b.0));
    // The best few places (2 m apart), each refined; the best refined wins.
    let mut starts: Vec<Pose2> = Vec::new();
    for (_, c) in &candidates {
        if starts.len() >= 12 {
            break;
        }
        if starts.iter().all(|s| s.p.dist(c.p) > 2.0) {
            starts.push(*c);
        }
    }
    starts
        .into_iter()
        .map(|start| refine(line, start, points))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(pose, _)| (pose, line_rms(line, &pose, points)))
}

/// `start` moved by ever finer steps of position and heading while `points` fit `line`
/// better; the pose and its misfit.
fn refine(line: &ClosedPolyline, start: Pose2, points: &[Vec2]) -> (Pose2, f64) {
    let mut pose = start;
    let mut err = misfit(line, &pose, points, line.project(pose.p).segment);
    for step in [0.05, 0.01, 0.002] {
        let hint = line.project(pose.p).segment;
        let mut improved = true;
        while improved {
            improved = false;
            for (dx, dy, dyaw) in [
                (step, 0.0, 0.0),
                (-step, 0.0, 0.0),
                (0.0, step, 0.0),
                (0.0, -step, 0.0),
                (0.0, 0.0, step / 2.0),
                (0.0, 0.0, -step / 2.0),
            ] {
                let candidate = Pose2 {
                    p: pose.p + Vec2::new(dx, dy),
                    yaw: pose.yaw + dyaw,
                };
                let e = misfit(line, &candidate, points, hint);
                if e < err - 1e-12 {
                    (err, pose, improved) = (e, candidate, true);
                }
            }
        }
    }
    (pose, err)
}

/// Root mean square distance of `points` placed at `pose` to `line`, metres.
fn line_rms(line: &ClosedPolyline, pose: &Pose2, points: &[Vec2]) -> f64 {
    let sum: f64 = points
        .iter()
        .map(|q| line.project(pose.to_world(*q)).distance.powi(2))
        .sum();
    (sum / points.len() as f64).sqrt()
}

/// A real image compared with the simulator's picture of the same place.
#[derive(Debug, Clone, Serialize)]
pub struct Comparison {
    /// The real image.
    pub image: PathBuf,
    /// The world.
    pub world: String,
    /// Where the simulator's camera stood.
    pub pose: PoseOnLine,
    /// Regions' mean colours.
    pub regions: Vec<RegionColour>,
    /// The line's geometry in the real image.
    pub real_line: Vec<LineCut>,
    /// ... and in the rendered picture.
    pub rendered_line: Vec<LineCut>,
    /// The rendered picture.
    #[serde(skip)]
    pub rendered: Frame,
    /// The real image.
    #[serde(skip)]
    pub real: Frame,
}

/// Compares the camera image at `image` with `track` rendered through its camera
/// ([`Track::camera`]: a world's car's, else the look's) at `pose`, or at the pose searched
/// for when none is given.
pub fn compare(
    track: &Track,
    image: &Path,
    pose: Option<Pose2>,
) -> Result<Comparison, CompareError> {
    let camera = track.camera();
    let bad = |reason: String| CompareError::Image {
        path: image.to_path_buf(),
        reason,
    };
    let real = read_image(image).map_err(|e| bad(e.to_string()))?;
    if real.width != camera.width || real.height != camera.height {
        return Err(bad(format!(
            "{}x{}, the camera makes {}x{} frames",
            real.width, real.height, camera.width, camera.height
        )));
    }
    let Scenery::Scene(scene) = &track.scenery else {
        return Err(CompareError::NoScene(track.circuit.name.clone()));
    };
    let model = CameraModel::new(camera);
    let line = track.painted_line();
    let real_line = line_cuts(&real);
    let (pose, fit) = match pose {
        Some(p) => {
            let proj = line.project(p.p);
            let half = track.circuit.road.road_width / 2.0;
            if proj.distance > half {
                return Err(CompareError::OffRoad {
                    x: p.p.x,
                    y: p.p.y,
                    distance: proj.distance,
                    road: track.circuit.road.road_width,
                });
            }
            (p, None)
        }
        None => {
            let rows: Vec<u32> = SEARCH_ROWS.step_by(5).collect();
            let points = ground_points(&model, &cuts_at(&real, &rows));
            if points.len() < 4 {
                return Err(CompareError::NoMatch {
                    path: image.to_path_buf(),
                    reason: format!(
                        "the red line shows on {} of the rows 250-475 (every 5): too few to \
                         find the pose by",
                        points.len()
                    ),
                });
            }
            let (pose, fit) = search(line, &points).ok_or_else(|| CompareError::NoMatch {
                path: image.to_path_buf(),
                reason: "no pose of the search puts its line on the world's".into(),
            })?;
            (pose, Some(fit))
        }
    };
    let raster = Raster::new(scene.clone(), camera);
    let mut rendered = raster.new_frame();
    raster.render(&pose, &Appearance::default(), 0, &mut rendered);
    let kinds = kinds(scene, &raster.surfaces());
    let regions = regions(
        &kinds,
        camera.width as usize,
        camera.height as usize,
        model.horizon_row(),
    )
    .into_iter()
    .filter(|(_, pixels)| !pixels.is_empty())
    .map(|(region, pixels)| {
        let (a, b) = (mean(&real, &pixels), mean(&rendered, &pixels));
        RegionColour {
            region,
            pixels: pixels.len(),
            real: a,
            rendered: b,
            difference: [b[0] - a[0], b[1] - a[1], b[2] - a[2]],
        }
    })
    .collect();
    let proj = line.project(pose.p);
    let (_, t) = line.at(proj.s);
    let rendered_line = line_cuts(&rendered);
    Ok(Comparison {
        image: image.to_path_buf(),
        world: track.circuit.source.clone(),
        pose: PoseOnLine {
            x: pose.p.x,
            y: pose.p.y,
            yaw: wrap_angle(pose.yaw),
            along_m: proj.s,
            lateral_m: proj.lateral,
            heading_offset_rad: wrap_angle(pose.yaw - t.y.atan2(t.x)),
            searched: fit.is_some(),
            fit_m: fit,
        },
        regions,
        real_line,
        rendered_line,
        rendered,
        real,
    })
}

impl Comparison {
    /// The real image (left) and the rendered picture (right), the measured rows marked at
    /// both edges, as one PNG.
    pub fn save_side_by_side(&self, path: &Path) -> Result<(), String> {
        let (w, h) = (self.real.width, self.real.height);
        let mut out = image::RgbImage::new(2 * w, h);
        for (k, frame) in [&self.real, &self.rendered].into_iter().enumerate() {
            for y in 0..h {
                for x in 0..w {
                    out.put_pixel(k as u32 * w + x, y, image::Rgb(frame.rgb(x, y)));
                }
            }
        }
        for row in ROWS {
            for x in (0..6).chain(2 * w - 6..2 * w) {
                out.put_pixel(x, row, image::Rgb([255, 255, 0]));
            }
        }
        out.save(path).map_err(|e| e.to_string())
    }

    /// The comparison as a table.
    pub fn table(&self) -> String {
        let p = &self.pose;
        let mut s = format!(
            "{} against {}\npose ({:.3}, {:.3}, yaw {:.3}): {:.2} m along the line, {:+.2} m left of it, heading {:+.3} rad from it{}\n\n",
            self.image.display(),
            self.world,
            p.x,
            p.y,
            p.yaw,
            p.along_m,
            p.lateral_m,
            p.heading_offset_rad,
            match p.fit_m {
                Some(f) => format!(" (searched: the image's line lies {f:.3} m RMS from the world's)"),
                None => " (given)".into(),
            }
        );
        s += &format!(
            "{:<14} {:>7} {:>17} {:>17} {:>17}\n",
            "region", "pixels", "real RGB", "rendered RGB", "difference"
        );
        let rgb = |c: [f64; 3]| format!("{:>5.0} {:>5.0} {:>5.0}", c[0], c[1], c[2]);
        for r in &self.regions {
            s += &format!(
                "{:<14} {:>7} {:>17} {:>17} {:>17}\n",
                r.region,
                r.pixels,
                rgb(r.real),
                rgb(r.rendered),
                rgb(r.difference)
            );
        }
        s += &format!(
            "\n{:<5} {:>22} {:>22} {:>16}\n",
            "row", "real centre / width", "rendered centre / width", "difference"
        );
        let cut = |c: &LineCut| match (c.centre, c.width) {
            (Some(x), Some(w)) => format!("{x:>8.1} / {w:>5.1}"),
            _ => "no line".into(),
        };
        for (a, b) in self.real_line.iter().zip(&self.rendered_line) {
            let diff = match (a.centre, b.centre, a.width, b.width) {
                (Some(x), Some(y), Some(wa), Some(wb)) => {
                    format!("{:+6.1} px, {:+4.0} %", y - x, 100.0 * (wb / wa - 1.0))
                }
                _ => "-".into(),
            };
            s += &format!("{:<5} {:>22} {:>22} {:>16}\n", a.row, cut(a), cut(b), diff);
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::camera::CameraConfig;
    use crate::sim::Look;

    #[test]
    fn the_line_is_cut_where_it_is_red_and_the_widest_band_wins() {
        let mut f = Frame::new_rgb8(640, 480);
        let step = f.step as usize;
        let mut set = |x: usize, y: u32, c: [u8; 3]| {
            let i = y as usize * step + 3 * x;
            f.data[i..i + 3].copy_from_slice(&c);
        };
        for row in ROWS {
            for x in 100..104 {
                set(x, row, [255, 102, 102]);
            }
            for x in 300..320 {
                set(x, row, [76, 0, 0]);
            }
        }
        let cuts = line_cuts(&f);
        assert!(cuts
            .iter()
            .all(|c| c.centre == Some(310.0) && c.width == Some(20.0)));
        assert!(!is_red([45, 41, 42]) && !is_red([180, 193, 220]) && !is_red([255, 255, 255]));
    }

    #[test]
    fn a_picture_of_the_simulator_is_found_where_it_was_taken() {
        // The simulator's own frame: the search must find its pose, and every region match.
        let track = Track::load("lakeside", None, false, Look::BehaviorMetrics).unwrap();
        let camera = CameraConfig::behavior_metrics_f1();
        let Scenery::Scene(scene) = &track.scenery else {
            unreachable!()
        };
        let pose = {
            let on = track.circuit.pose_at(100.0);
            Pose2 {
                p: on.to_world(Vec2::new(0.0, 0.08)),
                yaw: on.yaw - 0.02,
            }
        };
        let raster = Raster::new(scene.clone(), camera);
        let mut frame = raster.new_frame();
        raster.render(&pose, &Appearance::default(), 0, &mut frame);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("frame.png");
        frame.save_png(&path).unwrap();
        // At the pose it was taken from, every region is the same picture.
        let same = compare(&track, &path, Some(pose)).unwrap();
        assert_eq!(same.regions.len(), 5, "{}", same.table());
        for r in &same.regions {
            assert!(r.difference.iter().all(|d| d.abs() < 1e-9), "{r:?}");
        }
        // Searched: a pose whose picture puts the line where the image has it, to half the
        // calibration's tolerance (6 px, 20 %); on a straight any stretch will do.
        let c = compare(&track, &path, None).unwrap();
        assert!(c.pose.fit_m.unwrap() < 0.02, "{:?}", c.pose);
        let mut rows = 0;
        for (a, b) in c.real_line.iter().zip(&c.rendered_line) {
            assert_eq!(a.centre.is_some(), b.centre.is_some(), "{}", c.table());
            let (Some(ca), Some(cb), Some(wa), Some(wb)) = (a.centre, b.centre, a.width, b.width)
            else {
                continue;
            };
            assert!(
                (ca - cb).abs() <= 3.0 && (wb / wa - 1.0).abs() < 0.1,
                "{}",
                c.table()
            );
            rows += 1;
        }
        assert!(rows >= 3, "{}", c.table());
        // A pose given off the road, a picture of the wrong size: errors naming them.
        let far = Pose2 {
            p: pose.p + Vec2::new(100.0, 100.0),
            yaw: 0.0,
        };
        let e = compare(&track, &path, Some(far)).unwrap_err();
        assert!(e.to_string().contains("off the"), "{e}");
        let small = dir.path().join("small.png");
        image::RgbImage::new(320, 240).save(&small).unwrap();
        let e = compare(&track, &small, None).unwrap_err();
        assert!(e.to_string().contains("320x240"), "{e}");
    }
}
