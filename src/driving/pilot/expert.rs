//! The expert pilot: follows the red line from the camera image alone, like Behavior Metrics'
//! explicit brains, and labels training data for the network.
//!
//! Per frame it scans a few dozen image rows for red pixels, tracks the line upwards from the
//! bottom of the image, back-projects the line's centre in each row to the ground with the
//! camera's calibration, and fits a parabola y = a + b·x + c·x² in the car frame. Steering is a
//! path-following law on the line's offset, heading and curvature, evaluated where the car will
//! be halfway through the command's hold; speed follows the sharpest curvature in sight.

use serde::{Deserialize, Serialize};

use crate::base::camera::{CameraConfig, CameraModel};
use crate::base::control::Command;
use crate::base::sensor::{Frame, FrameError, Odometry};
use crate::driving::pilot::{Pilot, PilotError};

/// Tuning of the expert.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ExpertConfig {
    /// Slowest cruising speed, m/s.
    pub v_min: f64,
    /// Fastest speed, m/s.
    pub v_max: f64,
    /// Lateral acceleration the speed is chosen for, m/s².
    pub lateral_accel: f64,
    /// Largest speed increase per second, m/s².
    pub accel: f64,
    /// Braking the expert plans with when it sees a curve ahead, m/s².
    pub decel: f64,
    /// Gain on lateral offset, 1/m² (distance domain).
    pub k_offset: f64,
    /// Gain on heading error, 1/m (distance domain).
    pub k_heading: f64,
    /// Tightest turn the expert commands, 1/m (Nürburgring's hairpin has a radius near 2.3 m).
    pub max_curvature: f64,
}

impl Default for ExpertConfig {
    fn default() -> Self {
        Self {
            v_min: 3.0,
            v_max: 13.0,
            lateral_accel: 8.0,
            accel: 6.0,
            decel: 8.0,
            k_offset: 0.5,
            k_heading: 1.3,
            max_curvature: 0.7,
        }
    }
}

/// One image row the expert scans, with its ground geometry.
#[derive(Debug, Clone, Copy)]
struct ScanRow {
    row: u32,
}

/// A point of the red line in the car frame (x forward, y left), metres.
#[derive(Debug, Clone, Copy)]
struct LinePoint {
    x: f64,
    y: f64,
}

/// What the expert saw in the last frame (for tests and diagnostics).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Sighting {
    /// Line points found.
    pub points: usize,
    /// Farthest line point ahead, metres.
    pub reach: f64,
    /// Offset of the line at the car, metres (positive: line to the left).
    pub offset: f64,
    /// Heading of the line relative to the car, radians.
    pub heading: f64,
    /// Curvature of the line, 1/m.
    pub curvature: f64,
    /// Whether the line was found (the fields below are meaningful).
    pub line_found: bool,
    /// The speed the expert aims at for this picture, m/s, before its acceleration limits
    /// (a function of the image alone).
    pub v_target: f64,
    /// The path curvature it commands, 1/m (yaw rate = speed × this).
    pub kappa: f64,
}

impl Sighting {
    /// What the picture asks for, when the line was found: the expert's target speed (not
    /// its acceleration-limited ramp, which depends on the car's state, not on the image) and
    /// the yaw rate that follows its chosen curvature at that speed. A dataset's label.
    pub fn label(&self) -> Option<Command> {
        self.line_found
            .then(|| Command::new(self.v_target, self.v_target.max(1.0) * self.kappa))
    }
}

/// The expert pilot.
#[derive(Debug, Clone)]
pub struct ExpertPilot {
    config: ExpertConfig,
    /// Time between frames (and so between commands), seconds.
    period: f64,
    camera: CameraModel,
    rows: Vec<ScanRow>,
    last: Command,
    last_column: Option<f64>,
    frames_without_line: u32,
    sighting: Sighting,
    points: Vec<LinePoint>,
}

impl ExpertPilot {
    /// Frames come from a camera with these settings from now on (a camera moved on its
    /// mount); what the expert has seen so far is kept.
    pub fn set_camera(&mut self, camera: CameraConfig) {
        let fresh = Self::new(camera, self.config);
        self.period = fresh.period;
        self.camera = fresh.camera;
        self.rows = fresh.rows;
    }

    /// An expert for frames from a camera with these settings.
    pub fn new(camera: CameraConfig, config: ExpertConfig) -> Self {
        let model = CameraModel::new(camera);
        // Every third pixel row from the bottom of the image up to the row 30 m ahead: dense
        // where the ground is near, so a hairpin that fills only the bottom of the picture
        // still yields enough points.
        let top = model
            .ground_to_pixel(crate::base::geometry::Vec2::new(30.0, 0.0))
            .map_or(0.0, |(_, v)| v.max(0.0));
        let rows: Vec<ScanRow> = (0..camera.height)
            .rev()
            .step_by(3)
            .take_while(|&row| row as f64 >= top)
            .map(|row| ScanRow { row })
            .collect();
        Self {
            config,
            period: 1.0 / camera.rate_hz,
            camera: model,
            rows,
            last: Command::STOP,
            last_column: None,
            frames_without_line: 0,
            sighting: Sighting::default(),
            points: Vec::with_capacity(128),
        }
    }

    /// What the last frame showed.
    pub fn sighting(&self) -> Sighting {
        self.sighting
    }

    /// Finds the red line's points in the frame, tracking it upwards from the bottom row.
    fn find_line(&mut self, frame: &Frame) {
        self.points.clear();
        let width = frame.width as f64;
        let mut expected = self.last_column.unwrap_or(width / 2.0);
        let mut prev: Option<LinePoint> = None;
        let mut misses = 0;
        for &ScanRow { row } in &self.rows {
            let mut best: Option<(f64, f64)> = None; // (column, distance to expected)
            let mut run: Option<(f64, f64)> = None; // (weighted sum, weight)
            for x in 0..=frame.width {
                let redness = if x < frame.width {
                    let [r, g, b] = frame.rgb(x, row);
                    let (r, g, b) = (r as f64, g as f64, b as f64);
                    let m = g.max(b);
                    if r > 60.0 && r > 1.8 * m + 20.0 {
                        r - m
                    } else {
                        0.0
                    }
                } else {
                    0.0
                };
                if redness > 0.0 {
                    let (s, w) = run.unwrap_or((0.0, 0.0));
                    run = Some((s + redness * (x as f64 + 0.5), w + redness));
                } else if let Some((s, w)) = run.take() {
                    let col = s / w;
                    let dist = (col - expected).abs();
                    if best.is_none_or(|(_, d)| dist < d) {
                        best = Some((col, dist));
                    }
                }
            }
            let accepted = best.and_then(|(col, _)| {
                let (g, _) = self.camera.pixel_to_ground(col, row as f64 + 0.5)?;
                let p = LinePoint { x: g.x, y: g.y };
                // The line is continuous: reject a jump to another stretch of the circuit.
                let ok = match prev {
                    None => true,
                    Some(q) => (p.y - q.y).abs() <= 0.8 + 1.5 * (p.x - q.x).abs(),
                };
                ok.then_some((col, p))
            });
            match accepted {
                Some((col, p)) => {
                    if prev.is_none() {
                        self.last_column = Some(col);
                    }
                    expected = col;
                    prev = Some(p);
                    self.points.push(p);
                    misses = 0;
                }
                None if prev.is_some() => {
                    misses += 1;
                    if misses > 4 {
                        break;
                    }
                }
                None => {}
            }
        }
        if self.points.is_empty() {
            self.last_column = None;
        }
    }
}

/// Least-squares parabola y = a + b·x + c·x² through points with x ≤ `x_max`.
fn fit_parabola(points: &[LinePoint], x_max: f64) -> Option<[f64; 3]> {
    let mut m = [[0.0f64; 3]; 3];
    let mut r = [0.0f64; 3];
    let mut n = 0;
    for p in points.iter().filter(|p| p.x <= x_max) {
        let xs = [1.0, p.x, p.x * p.x];
        for i in 0..3 {
            for j in 0..3 {
                m[i][j] += xs[i] * xs[j];
            }
            r[i] += xs[i] * p.y;
        }
        n += 1;
    }
    if n < 4 {
        return None;
    }
    solve3(m, r)
}

/// Solves a 3×3 linear system by Gaussian elimination with partial pivoting.
fn solve3(mut m: [[f64; 3]; 3], mut r: [f64; 3]) -> Option<[f64; 3]> {
    for col in 0..3 {
        let piv = (col..3).max_by(|&a, &b| m[a][col].abs().total_cmp(&m[b][col].abs()))?;
        if m[piv][col].abs() < 1e-12 {
            return None;
        }
        m.swap(col, piv);
        r.swap(col, piv);
        let pivot_row = m[col];
        for row in col + 1..3 {
            let f = m[row][col] / pivot_row[col];
            for (x, p) in m[row].iter_mut().zip(pivot_row).skip(col) {
                *x -= f * p;
            }
            r[row] -= f * r[col];
        }
    }
    let mut x = [0.0; 3];
    for i in (0..3).rev() {
        let s: f64 = (i + 1..3).map(|k| m[i][k] * x[k]).sum();
        x[i] = (r[i] - s) / m[i][i];
    }
    Some(x)
}

impl Pilot for ExpertPilot {
    fn name(&self) -> &str {
        "expert"
    }

    fn drive(
        &mut self,
        frame: &Frame,
        _odometry: Option<&Odometry>,
    ) -> Result<Command, PilotError> {
        let cfg = self.camera.config;
        frame.validate_size(cfg.width, cfg.height)?;
        if frame.encoding == crate::base::sensor::Encoding::Mono8 {
            return Err(FrameError::NeedsColour(frame.encoding).into());
        }
        self.find_line(frame);
        let c = self.config;
        let v_now = self.last.v.max(c.v_min);
        let reach = self.points.last().map_or(0.0, |p| p.x);
        // Steering looks at the near line only: a curve further on must not bias the offset
        // and heading here. Speed looks at all of it.
        let near = fit_parabola(&self.points, self.near_limit(v_now))
            .or_else(|| fit_parabola(&self.points, f64::INFINITY));
        let Some([a, b, cc]) = near else {
            // Line lost: hold the turn's radius (not its yaw rate) and slow down; stop after a
            // second without the line.
            self.frames_without_line += 1;
            self.sighting = Sighting {
                points: self.points.len(),
                reach,
                ..Sighting::default()
            };
            let radius_kept = self.last.w / self.last.v.max(1.0);
            let v = if self.frames_without_line as f64 * self.period > 1.0 {
                0.0
            } else {
                (self.last.v - c.decel * self.period).max(c.v_min * 0.5)
            };
            self.last = Command::new(v, radius_kept * v);
            return Ok(self.last);
        };
        self.frames_without_line = 0;

        let v_target = self.speed_for_line(reach);
        let v = v_target.clamp(
            self.last.v - 2.0 * c.decel * self.period,
            self.last.v + c.accel * self.period,
        );
        let v_eff = v.max(1.0);

        // Steering: errors where the car will be halfway through this command's hold.
        let curvature = |x: f64| {
            let d1 = b + 2.0 * cc * x;
            2.0 * cc / (1.0 + d1 * d1).powf(1.5)
        };
        let x0 = v_eff * self.period * 0.5;
        let car_kappa = self.last.w / v_eff;
        let offset = a + b * x0 + cc * x0 * x0 - 0.5 * car_kappa * x0 * x0;
        let heading = (b + 2.0 * cc * x0).atan() - car_kappa * x0;
        // Distance-domain gains shrink when one period covers more road.
        let step = v_eff * self.period;
        let scale = (0.55 / step).min(1.0);
        let kappa =
            (curvature(x0) + c.k_offset * scale * scale * offset + c.k_heading * scale * heading)
                .clamp(-c.max_curvature, c.max_curvature);
        self.sighting = Sighting {
            points: self.points.len(),
            reach,
            offset: a,
            heading: b.atan(),
            curvature: curvature(0.0),
            line_found: true,
            v_target,
            kappa,
        };
        self.last = Command::new(v, v_eff * kappa);
        Ok(self.last)
    }
}

impl ExpertPilot {
    /// How far ahead the steering fit looks, metres.
    fn near_limit(&self, v: f64) -> f64 {
        self.points.first().map_or(0.0, |p| p.x) + (1.2 + 0.05 * v)
    }

    /// The speed the visible line allows: for every point, the speed its local curvature
    /// allows plus what braking at `decel` can shed before reaching it. A line that ends close
    /// ahead (it turns out of the picture) counts as a turn of the tightest radius there.
    fn speed_for_line(&self, reach: f64) -> f64 {
        let c = self.config;
        let pts = &self.points;
        let allowed = |kappa: f64| (c.lateral_accel / kappa.abs().max(1e-6)).sqrt();
        let mut v2 = c.v_max * c.v_max;
        // Local curvature from the circle through points about 1.2 m either side.
        let mut j = 0;
        let mut k = 0;
        for i in 0..pts.len() {
            while j + 1 < i && dist(pts[j + 1], pts[i]) >= 1.2 {
                j += 1;
            }
            k = k.max(i);
            while k + 1 < pts.len() && dist(pts[i], pts[k]) < 1.2 {
                k += 1;
            }
            if j < i && k > i && dist(pts[j], pts[i]) >= 1.0 && dist(pts[i], pts[k]) >= 1.0 {
                let kappa = circle_curvature(pts[j], pts[i], pts[k]);
                let ahead = (pts[i].x - 1.0).max(0.0);
                v2 = v2.min(allowed(kappa).powi(2) + 2.0 * c.decel * ahead);
            }
        }
        if reach < 12.0 {
            let sharpest = allowed(c.max_curvature);
            v2 = v2.min(sharpest * sharpest + 2.0 * c.decel * (reach - 1.0).max(0.0));
        }
        v2.sqrt().clamp(c.v_min, c.v_max)
    }
}

fn dist(a: LinePoint, b: LinePoint) -> f64 {
    (a.x - b.x).hypot(a.y - b.y)
}

/// Signed curvature of the circle through three points (positive turning left).
fn circle_curvature(a: LinePoint, b: LinePoint, c: LinePoint) -> f64 {
    let cross = (b.x - a.x) * (c.y - b.y) - (b.y - a.y) * (c.x - b.x);
    let d = dist(a, b) * dist(b, c) * dist(a, c);
    if d > 0.0 {
        2.0 * cross / d
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parabola_fit_recovers_coefficients() {
        let pts: Vec<LinePoint> = (0..20)
            .map(|i| {
                let x = 1.0 + i as f64 * 0.5;
                LinePoint {
                    x,
                    y: 0.3 - 0.1 * x + 0.02 * x * x,
                }
            })
            .collect();
        let [a, b, c] = fit_parabola(&pts, f64::INFINITY).unwrap();
        assert!((a - 0.3).abs() < 1e-9 && (b + 0.1).abs() < 1e-9 && (c - 0.02).abs() < 1e-9);
    }

    #[test]
    fn rejects_grey_and_wrong_size_frames() {
        let mut e = ExpertPilot::new(CameraConfig::default(), ExpertConfig::default());
        let mut f = Frame::new_rgb8(320, 240);
        assert!(matches!(
            e.drive(&f, None),
            Err(PilotError::Frame(FrameError::WrongSize { .. }))
        ));
        f = Frame::new_rgb8(640, 480);
        f.encoding = crate::base::sensor::Encoding::Mono8;
        assert!(matches!(
            e.drive(&f, None),
            Err(PilotError::Frame(FrameError::NeedsColour(_)))
        ));
    }

    #[test]
    fn blank_frame_slows_then_stops() {
        let mut e = ExpertPilot::new(CameraConfig::default(), ExpertConfig::default());
        let f = Frame::new_rgb8(640, 480);
        let mut last = Command::new(1.0, 0.0);
        for _ in 0..30 {
            last = e.drive(&f, None).unwrap();
        }
        assert_eq!(last.v, 0.0);
    }
}
