//! A track: the circuit a run is measured against, and what the camera sees of it.
//!
//! Two looks. [`Look::BehaviorMetrics`] is Behavior Metrics' Gazebo world: a loaded world's own
//! meshes (`--world`), or the same look built around any centre line
//! ([`crate::sim::procedural`]), seen by its F1 camera. [`Look::Classic`] is this project's
//! first look: a grey road with white edges on green grass, drawn from the centre line's
//! distance field, seen by the high, pitched classic camera.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use thiserror::Error;

use crate::base::camera::CameraConfig;
use crate::evaluation::circuit::{Circuit, CircuitError, RoadGeometry};
use crate::sim::gazebo::{self, WorldError};
use crate::sim::procedural::behavior_metrics_look;
use crate::sim::scene::Scene;

/// How the world looks to the camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Look {
    /// Behavior Metrics' Gazebo follow-line world and its F1 camera (the default).
    #[default]
    BehaviorMetrics,
    /// This project's first look and camera.
    Classic,
}

impl Look {
    /// The camera that goes with the look.
    pub fn camera(self) -> CameraConfig {
        match self {
            Look::BehaviorMetrics => CameraConfig::behavior_metrics_f1(),
            Look::Classic => CameraConfig::classic(),
        }
    }

    /// The road around a centre line in this look.
    pub fn road(self) -> RoadGeometry {
        match self {
            Look::BehaviorMetrics => RoadGeometry::behavior_metrics(),
            Look::Classic => RoadGeometry::classic(),
        }
    }

    /// The name on the command line and in records.
    pub fn as_str(self) -> &'static str {
        match self {
            Look::BehaviorMetrics => "gazebo",
            Look::Classic => "classic",
        }
    }
}

impl fmt::Display for Look {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Look {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "gazebo" | "behavior-metrics" => Ok(Look::BehaviorMetrics),
            "classic" => Ok(Look::Classic),
            _ => Err(format!("unknown look '{s}' (expected gazebo or classic)")),
        }
    }
}

/// What the camera draws.
#[derive(Debug, Clone)]
pub enum Scenery {
    /// The classic look, from the circuit's centre line.
    Classic,
    /// A scene of triangles (a loaded world, or Behavior Metrics' look built for a circuit).
    Scene(Arc<Scene>),
}

/// Why a track could not be made.
#[derive(Debug, Error)]
pub enum TrackError {
    /// The circuit (name or CSV file) is unusable.
    #[error(transparent)]
    Circuit(#[from] CircuitError),
    /// The world (SDF, COLLADA, textures, red line) is unusable.
    #[error(transparent)]
    World(#[from] WorldError),
}

/// A circuit and its scenery.
#[derive(Debug, Clone)]
pub struct Track {
    /// The circuit the statistics are measured against.
    pub circuit: Circuit,
    /// What the camera sees.
    pub scenery: Scenery,
}

impl Track {
    /// `circuit` in `look`: the classic look, or Behavior Metrics' built around its line.
    pub fn new(circuit: Circuit, look: Look) -> Track {
        let scenery = match look {
            Look::Classic => Scenery::Classic,
            Look::BehaviorMetrics => Scenery::Scene(Arc::new(behavior_metrics_look(&circuit))),
        };
        Track { circuit, scenery }
    }

    /// A built-in circuit or a CSV lap (`spec`) in `look`, with `road` (default: the look's).
    pub fn load(
        spec: &str,
        road: Option<RoadGeometry>,
        reversed: bool,
        look: Look,
    ) -> Result<Track, TrackError> {
        let circuit = Circuit::load(spec, road.unwrap_or(look.road()), reversed)?;
        Ok(Track::new(circuit, look))
    }

    /// A Gazebo world (`model.sdf` or `.world`): its meshes as the scenery, its red line as
    /// the circuit, its road as measured around the line.
    pub fn world(path: &Path, reversed: bool) -> Result<Track, TrackError> {
        let world = gazebo::load(path)?;
        let measured = RoadGeometry {
            road_width: world
                .line
                .road_width
                .unwrap_or(RoadGeometry::behavior_metrics().road_width),
            line_width: world.line.line_width,
            edge_width: 0.0,
        };
        let circuit = Circuit::from_points(
            world.name.clone(),
            path.display().to_string(),
            world.line.points.clone(),
            measured,
            reversed,
        )?;
        Ok(Track {
            circuit,
            scenery: Scenery::Scene(Arc::new(world.scene)),
        })
    }

    /// `spec` as a track: a Gazebo world when it names a `.sdf` or `.world` file (whose own
    /// look it has), else a built-in circuit or CSV lap in `look`.
    pub fn open(
        spec: &str,
        road: Option<RoadGeometry>,
        reversed: bool,
        look: Look,
    ) -> Result<Track, TrackError> {
        if is_world(spec) {
            Track::world(Path::new(spec), reversed)
        } else {
            Track::load(spec, road, reversed, look)
        }
    }

    /// The look of the scenery.
    pub fn look(&self) -> Look {
        match self.scenery {
            Scenery::Classic => Look::Classic,
            Scenery::Scene(_) => Look::BehaviorMetrics,
        }
    }
}

/// Whether `spec` names a Gazebo world file.
pub fn is_world(spec: &str) -> bool {
    let ext = Path::new(spec)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("");
    ext.eq_ignore_ascii_case("sdf") || ext.eq_ignore_ascii_case("world")
}

impl From<Circuit> for Track {
    /// The circuit in the default look, Behavior Metrics'.
    fn from(circuit: Circuit) -> Track {
        Track::new(circuit, Look::default())
    }
}
