//! The simulated camera: pinhole intrinsics, its mount on the car, its clip range, and
//! projection between pixels and the ground plane.
//!
//! Two mounts. [`CameraConfig::behavior_metrics_f1`] is the camera `cam_f1_left` of Behavior
//! Metrics' F1 car (`f1_renault` in its Gazebo models): 640×480 `rgb8`, horizontal field of view
//! 1.57 rad, 20 Hz, 0.45 m ahead of the car's origin, 0.04 m to its left, 0.10 m above the
//! ground, level, clipping at 0.1 and 15 m; a level camera puts the horizon on the image's
//! middle row, so the rows Behavior Metrics' brains crop (240-480) are the road.
//! [`CameraConfig::classic`] is this project's first mount: 0.9 m high, 0.5 m ahead, pitched
//! 0.2 rad down, so the lower half shows the road from 1.3 m to 4.9 m ahead.

use serde::{Deserialize, Serialize};

use crate::base::geometry::Vec2;
use crate::base::settings::{within, InvalidSetting};

/// Where the camera sits on the car (body frame: x forward, y left, z up).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CameraMount {
    /// Height of the optical centre above the ground, metres.
    pub height: f64,
    /// Downward pitch of the optical axis, radians.
    pub pitch: f64,
    /// Forward offset from the car's reference point (its odometry origin), metres.
    pub forward: f64,
    /// Offset to the left of the car's reference point, metres.
    pub left: f64,
    /// Roll about the optical axis, radians, right-handed about the car's forward axis
    /// (positive lowers the camera's right side, so the horizon climbs to the right). Drawn
    /// by the scene renderer; the ground projection below treats the camera as level in
    /// roll (the few hundredths of a radian a mount is off by move a line point a pixel).
    #[serde(default)]
    pub roll: f64,
}

/// Camera settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CameraConfig {
    /// Image width, pixels.
    pub width: u32,
    /// Image height, pixels.
    pub height: u32,
    /// Horizontal field of view, radians.
    pub hfov: f64,
    /// Frame rate, Hz (simulated time).
    pub rate_hz: f64,
    /// Mount on the car.
    pub mount: CameraMount,
    /// Nearest distance drawn, metres.
    pub near_clip: f64,
    /// Farthest distance drawn, metres (beyond it the camera sees the background).
    pub far_clip: f64,
}

impl Default for CameraConfig {
    /// Behavior Metrics' F1 camera, [`CameraConfig::behavior_metrics_f1`].
    fn default() -> Self {
        Self::behavior_metrics_f1()
    }
}

impl CameraConfig {
    /// Behavior Metrics' F1 camera (`f1_renault`, `cam_f1_left`).
    pub fn behavior_metrics_f1() -> Self {
        Self {
            width: 640,
            height: 480,
            hfov: 1.57,
            rate_hz: 20.0,
            mount: CameraMount {
                height: 0.10,
                pitch: 0.0,
                forward: 0.45,
                left: 0.04,
                roll: 0.0,
            },
            near_clip: 0.1,
            far_clip: 15.0,
        }
    }

    /// This project's first mount: high and pitched down, for the classic look.
    pub fn classic() -> Self {
        Self {
            width: 640,
            height: 480,
            hfov: 1.57,
            rate_hz: 20.0,
            mount: CameraMount {
                height: 0.9,
                pitch: 0.2,
                forward: 0.5,
                left: 0.0,
                roll: 0.0,
            },
            near_clip: 0.1,
            far_clip: 150.0,
        }
    }

    /// Checks ranges; the error names the setting (`camera_hz` for the rate).
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        if !(16..=4096).contains(&self.width) || !(16..=4096).contains(&self.height) {
            return Err(InvalidSetting::new(
                "camera",
                format!("size {}x{} is outside 16..4096", self.width, self.height),
            ));
        }
        if !(self.hfov > 0.1 && self.hfov < 3.0) {
            return Err(InvalidSetting::new(
                "camera",
                format!("hfov {} rad is outside (0.1, 3.0)", self.hfov),
            ));
        }
        within("camera_hz", self.rate_hz, 0.1, 1000.0)?;
        let m = &self.mount;
        let placed = m.height > 0.05
            && m.height < 10.0
            && m.pitch > -0.5
            && m.pitch < 1.2
            && m.forward.abs() < 10.0
            && m.left.abs() < 10.0
            && m.roll.abs() < 0.5;
        if !placed {
            return Err(InvalidSetting::new(
                "camera",
                format!(
                    "mount height {} m / pitch {} rad / roll {} rad / offset ({}, {}) m is out of range",
                    m.height, m.pitch, m.roll, m.forward, m.left
                ),
            ));
        }
        if !(self.near_clip > 0.0 && self.near_clip < self.far_clip && self.far_clip <= 1e4) {
            return Err(InvalidSetting::new(
                "camera",
                format!(
                    "clip range {} to {} m is not increasing within (0, 10000]",
                    self.near_clip, self.far_clip
                ),
            ));
        }
        Ok(())
    }
}

/// Projection for a [`CameraConfig`]. Pixel centres are at half-integer coordinates:
/// pixel column `u` covers `[u, u + 1)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CameraModel {
    /// Settings it was made from.
    pub config: CameraConfig,
    /// Focal length, pixels.
    pub f: f64,
    /// Principal point, column.
    pub cx: f64,
    /// Principal point, row.
    pub cy: f64,
    sin_p: f64,
    cos_p: f64,
}

impl CameraModel {
    /// The model for `config` (which should be valid).
    pub fn new(config: CameraConfig) -> Self {
        let f = (config.width as f64 / 2.0) / (config.hfov / 2.0).tan();
        let (sin_p, cos_p) = config.mount.pitch.sin_cos();
        Self {
            config,
            f,
            cx: config.width as f64 / 2.0,
            cy: config.height as f64 / 2.0,
            sin_p,
            cos_p,
        }
    }

    /// Image row (continuous) of the horizon.
    pub fn horizon_row(&self) -> f64 {
        self.cy - self.f * self.config.mount.pitch.tan()
    }

    /// Where the ray through image point (u, v) meets the ground, in the body frame, with the
    /// distance along the ray from the camera; `None` above the horizon.
    pub fn pixel_to_ground(&self, u: f64, v: f64) -> Option<(Vec2, f64)> {
        let a = (u - self.cx) / self.f;
        let b = (v - self.cy) / self.f;
        // Ray in the body frame for the camera axes (right = -y, down, forward pitched down).
        let x = self.cos_p - b * self.sin_p;
        let y = -a;
        let z = -self.sin_p - b * self.cos_p;
        if z >= -1e-9 {
            return None;
        }
        let m = &self.config.mount;
        let t = m.height / -z;
        let range = t * (x * x + y * y + z * z).sqrt();
        Some((Vec2::new(m.forward + t * x, m.left + t * y), range))
    }

    /// Image point (u, v) of a ground point given in the body frame; `None` behind the camera.
    pub fn ground_to_pixel(&self, p: Vec2) -> Option<(f64, f64)> {
        let m = &self.config.mount;
        let dx = p.x - m.forward;
        let h = m.height;
        let xc = -(p.y - m.left);
        let yc = -dx * self.sin_p + h * self.cos_p;
        let zc = dx * self.cos_p + h * self.sin_p;
        if zc <= 1e-9 {
            return None;
        }
        Some((self.cx + self.f * xc / zc, self.cy + self.f * yc / zc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_f1_camera_is_level_and_its_horizon_is_the_middle_row() {
        let c = CameraConfig::behavior_metrics_f1();
        assert!(c.validate().is_ok());
        let m = CameraModel::new(c);
        assert!((m.horizon_row() - 240.0).abs() < 1e-9);
        // The bottom row sees the ground 0.58 m ahead, 4 cm left of the car's origin at the
        // centre column; 10 rows below the horizon it is 3.5 m ahead.
        let (near, _) = m.pixel_to_ground(m.cx, 480.0).unwrap();
        assert!(
            (near.x - (0.45 + 0.10 * 320.0 / 240.0)).abs() < 0.01,
            "{near:?}"
        );
        assert!((near.y - 0.04).abs() < 1e-9);
        let (far, _) = m.pixel_to_ground(m.cx, 250.0).unwrap();
        assert!((far.x - (0.45 + 0.10 * m.f / 10.0)).abs() < 1e-6, "{far:?}");
        let (u, v) = m.ground_to_pixel(Vec2::new(3.0, 0.04)).unwrap();
        assert!((u - m.cx).abs() < 1e-9 && v > 240.0);
    }

    #[test]
    fn focal_length_from_hfov() {
        let m = CameraModel::new(CameraConfig::classic());
        assert!((m.f - 320.0 / (0.785f64).tan()).abs() < 1e-9);
    }

    #[test]
    fn projection_round_trips() {
        let m = CameraModel::new(CameraConfig::classic());
        for &(u, v) in &[(320.5, 470.5), (10.5, 300.5), (600.0, 250.0)] {
            let (g, _) = m.pixel_to_ground(u, v).unwrap();
            let (u2, v2) = m.ground_to_pixel(g).unwrap();
            assert!((u - u2).abs() < 1e-6 && (v - v2).abs() < 1e-6);
        }
    }

    #[test]
    fn centre_column_looks_straight_ahead_and_sky_has_no_ground() {
        let m = CameraModel::new(CameraConfig::classic());
        let (g, _) = m.pixel_to_ground(m.cx, 400.0).unwrap();
        assert!(g.y.abs() < 1e-9 && g.x > 0.5);
        assert!(m.pixel_to_ground(320.0, m.horizon_row() - 1.0).is_none());
        // The PilotNet crop (rows 240..480) sees the road from 1.3 m to 4.9 m ahead.
        let near = m.pixel_to_ground(m.cx, 479.5).unwrap().0.x;
        let far = m.pixel_to_ground(m.cx, 240.5).unwrap().0.x;
        assert!((1.25..1.35).contains(&near), "near {near}");
        assert!((4.8..5.0).contains(&far), "far {far}");
    }
}
