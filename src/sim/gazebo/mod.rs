//! Behavior Metrics' Gazebo worlds: a circuit's `model.sdf` (or a `.world` including it) with
//! its COLLADA meshes and textures, loaded into a [`Scene`] the camera renders, and its red line
//! traced into the centre line the lap statistics measure against.
//!
//! SDF is read with `roxmltree` (the subset a circuit uses: models, includes, links, visuals,
//! poses, mesh URIs and scales); COLLADA with `dae-parser`, the most complete of the maintained
//! COLLADA crates (one that keeps each primitive's material, which a SketchUp export needs).

mod car;
mod collada;
mod line;
mod sdf;

use std::path::{Path, PathBuf};

use thiserror::Error;

pub use line::{trace_red_line, RedLine};

use crate::base::camera::CameraConfig;
use crate::base::geometry::{Pose2, Vec2};
use crate::sim::scene::{Lighting, Scene};

/// Why a world could not be loaded.
#[derive(Debug, Error)]
pub enum WorldError {
    /// The SDF file is missing, not XML, or not what a circuit's SDF holds.
    #[error("SDF file {path}: {what}")]
    Sdf {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// A COLLADA mesh is missing, malformed, or uses what is not supported.
    #[error("COLLADA file {path}: {what}")]
    Collada {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// A texture a mesh uses cannot be read.
    #[error("texture {path} (used by {mesh}): {what}")]
    Texture {
        /// The image file.
        path: PathBuf,
        /// The mesh that uses it.
        mesh: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// The world has no red line to follow, or it cannot be traced round.
    #[error("world {path}: {what}")]
    Line {
        /// The SDF file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
}

/// Which light a world is drawn in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Light {
    /// The look this project calibrated first, on Gazebo's GUI views
    /// ([`Lighting::FIRST`]).
    #[default]
    First,
    /// Gazebo's light from the world file, as its camera frames show it
    /// ([`Lighting::world`]; a bare `model.sdf` sets none and stays in the first look).
    World,
    /// Gazebo's light with no ambient term, the sun alone ([`Lighting::world`] of black):
    /// the light of the frames of SimpleCircuit whose line is (177, 0, 0).
    Sun,
}

impl std::str::FromStr for Light {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "first" => Ok(Light::First),
            "world" => Ok(Light::World),
            "sun" => Ok(Light::Sun),
            _ => Err(format!(
                "unknown light '{s}' (expected first, world or sun)"
            )),
        }
    }
}

impl std::fmt::Display for Light {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Light::First => "first",
            Light::World => "world",
            Light::Sun => "sun",
        })
    }
}

/// A loaded world: its scene and the circuit traced from its red line.
#[derive(Debug)]
pub struct LoadedWorld {
    /// The circuit's name (`simple_circuit`, `montreal_line`, ...), else the file's folder name.
    pub name: String,
    /// The SDF file.
    pub path: PathBuf,
    /// What the camera sees.
    pub scene: Scene,
    /// The red line's centre, in driving order from the start.
    pub line: RedLine,
    /// Where the world puts Behavior Metrics' car (its `f1` include), if it does, facing the
    /// way its camera looks.
    pub spawn: Option<Pose2>,
    /// The camera that car carries, read from its SDF when the car's folder is found.
    pub camera: Option<CameraConfig>,
}

/// Farthest a world's vertex may lie from its origin along any axis, metres (Behavior Metrics'
/// circuits fit in a kilometre).
pub const MAX_COORDINATE_M: f32 = 50_000.0;

/// Where the world at `path` puts Behavior Metrics' car (its `f1` include's pose), if it does:
/// read from the SDF alone, no mesh loaded.
pub fn spawn(path: &Path) -> Result<Option<Pose2>, WorldError> {
    Ok(sdf::read(path)?.start.map(|(x, y, yaw)| Pose2 {
        p: Vec2::new(x, y),
        yaw,
    }))
}

/// The camera of the car the world at `path` includes, when the car's SDF is found: read
/// from the SDF files alone, no mesh loaded.
pub fn camera(path: &Path) -> Result<Option<CameraConfig>, WorldError> {
    Ok(sdf::read(path)?.camera)
}

/// Loads the world at `path` (a `model.sdf` or a `.world`): every mesh of every model, and the
/// red line's centre traced from where Behavior Metrics' car starts (a world's `f1` include),
/// else from the start of the longest straight, clockwise as Behavior Metrics drives.
pub fn load(path: &Path, light: Light) -> Result<LoadedWorld, WorldError> {
    let description = sdf::read(path)?;
    if description.meshes.is_empty() {
        return Err(WorldError::Sdf {
            path: path.to_path_buf(),
            what: "no visual draws a mesh".into(),
        });
    }
    let mut scene = Scene::new();
    // The world's own sky; its light when asked for and a world file gives one, else the
    // first calibrated look. Set before the meshes: triangles are
    // shaded as they are added.
    scene.sky = description.sky.unwrap_or_default();
    scene.lighting = match (light, description.ambient) {
        (Light::World, Some(ambient)) => Lighting::world(ambient),
        (Light::Sun, _) => Lighting::world([0.0; 3]),
        _ => Lighting::FIRST,
    };
    let mut cache = collada::Cache::default();
    for mesh in &description.meshes {
        let ext = mesh.file.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !ext.eq_ignore_ascii_case("dae") {
            return Err(WorldError::Sdf {
                path: path.to_path_buf(),
                what: format!("mesh {} is not COLLADA (.dae)", mesh.file.display()),
            });
        }
        add_mesh(mesh, &mut scene, &mut cache)?;
    }
    let start = description.start.map(|(x, y, yaw)| (Vec2::new(x, y), yaw));
    let line = trace_red_line(&scene, start).map_err(|what| WorldError::Line {
        path: path.to_path_buf(),
        what,
    })?;
    let paint: Vec<bool> = scene
        .materials
        .iter()
        .map(|m| line::is_red_paint(&scene, m))
        .collect();
    for (m, red) in scene.materials.iter_mut().zip(paint) {
        m.on_top = red;
    }
    // The car's body last, in the car's frame: it is not the world the line is traced in.
    let first = scene.triangles.len();
    for mesh in &description.body {
        add_mesh(mesh, &mut scene, &mut cache)?;
    }
    scene.mark_body(first);
    let name = description.name.unwrap_or_else(|| {
        path.parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "world".into())
    });
    Ok(LoadedWorld {
        name,
        path: path.to_path_buf(),
        scene,
        spawn: description.start.map(|(x, y, yaw)| Pose2 {
            p: Vec2::new(x, y),
            yaw,
        }),
        line,
        camera: description.camera,
    })
}

/// Adds the COLLADA mesh `mesh` to `scene`; a vertex placed at no finite place, or beyond
/// [`MAX_COORDINATE_M`] (a damaged number or scale), is an error naming the mesh.
fn add_mesh(
    mesh: &sdf::MeshVisual,
    scene: &mut Scene,
    cache: &mut collada::Cache,
) -> Result<(), WorldError> {
    let before = scene.triangles.len();
    collada::load(&mesh.file, &mesh.placement, scene, cache)?;
    if let Some(v) = scene.triangles[before..]
        .iter()
        .flat_map(|t| t.p)
        .find(|v| v.iter().any(|c| c.is_nan() || c.abs() > MAX_COORDINATE_M))
    {
        return Err(WorldError::Collada {
            path: mesh.file.clone(),
            what: format!(
                "a vertex placed at ({}, {}, {}) m, beyond the {MAX_COORDINATE_M} m a \
                 circuit's world may reach",
                v[0], v[1], v[2]
            ),
        });
    }
    Ok(())
}

/// A 4×4 affine transform (row-major; points are columns: world = M · local).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Mat4(pub [[f64; 4]; 4]);

impl Mat4 {
    /// The identity.
    pub const IDENTITY: Mat4 = Mat4([
        [1.0, 0.0, 0.0, 0.0],
        [0.0, 1.0, 0.0, 0.0],
        [0.0, 0.0, 1.0, 0.0],
        [0.0, 0.0, 0.0, 1.0],
    ]);

    /// From rows.
    pub fn rows(r: [[f64; 4]; 4]) -> Mat4 {
        Mat4(r)
    }

    /// Uniform scaling.
    pub fn scale(s: f64) -> Mat4 {
        Mat4::rows([
            [s, 0.0, 0.0, 0.0],
            [0.0, s, 0.0, 0.0],
            [0.0, 0.0, s, 0.0],
            [0.0, 0.0, 0.0, 1.0],
        ])
    }

    /// A translation.
    pub fn translation(t: [f64; 3]) -> Mat4 {
        let mut m = Mat4::IDENTITY;
        m.0[0][3] = t[0];
        m.0[1][3] = t[1];
        m.0[2][3] = t[2];
        m
    }

    /// A rotation by `angle` radians about `axis` (normalised here).
    pub fn axis_angle(axis: [f64; 3], angle: f64) -> Mat4 {
        let n = (axis[0] * axis[0] + axis[1] * axis[1] + axis[2] * axis[2]).sqrt();
        if n == 0.0 {
            return Mat4::IDENTITY;
        }
        let [x, y, z] = axis.map(|a| a / n);
        let (s, c) = angle.sin_cos();
        let t = 1.0 - c;
        Mat4::rows([
            [t * x * x + c, t * x * y - s * z, t * x * z + s * y, 0.0],
            [t * x * y + s * z, t * y * y + c, t * y * z - s * x, 0.0],
            [t * x * z - s * y, t * y * z + s * x, t * z * z + c, 0.0],
            [0.0, 0.0, 0.0, 1.0],
        ])
    }

    /// An SDF pose: translation, then roll, pitch, yaw about fixed x, y, z (R = Rz·Ry·Rx).
    pub fn pose(t: [f64; 3], rpy: [f64; 3]) -> Mat4 {
        let r = Mat4::axis_angle([0.0, 0.0, 1.0], rpy[2])
            .mul(&Mat4::axis_angle([0.0, 1.0, 0.0], rpy[1]))
            .mul(&Mat4::axis_angle([1.0, 0.0, 0.0], rpy[0]));
        Mat4::translation(t).mul(&r)
    }

    /// `self · other`.
    pub fn mul(&self, other: &Mat4) -> Mat4 {
        let mut out = [[0.0; 4]; 4];
        for (i, row) in out.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = (0..4).map(|k| self.0[i][k] * other.0[k][j]).sum();
            }
        }
        Mat4(out)
    }

    /// The transformed point.
    pub fn apply(&self, p: [f64; 3]) -> [f64; 3] {
        let m = &self.0;
        [0, 1, 2].map(|i| m[i][0] * p[0] + m[i][1] * p[1] + m[i][2] * p[2] + m[i][3])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poses_rotate_then_translate() {
        let m = Mat4::pose([1.0, 2.0, 0.0], [0.0, 0.0, std::f64::consts::FRAC_PI_2]);
        let p = m.apply([1.0, 0.0, 0.0]);
        assert!(
            (p[0] - 1.0).abs() < 1e-12 && (p[1] - 3.0).abs() < 1e-12,
            "{p:?}"
        );
        let s = Mat4::scale(0.0254).mul(&Mat4::translation([100.0, 0.0, 0.0]));
        assert!((s.apply([0.0; 3])[0] - 2.54).abs() < 1e-12);
    }
}
