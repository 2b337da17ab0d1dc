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
use crate::base::geometry::{wrap_angle, ClosedPolyline, Pose2, Vec2};
use crate::base::settings::{within, InvalidSetting};
use crate::evaluation::circuit::{Circuit, CircuitError, RoadGeometry};
use crate::sim::gazebo::{self, Light, WorldError};
use crate::sim::looks::SceneLook;
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
    /// Where a Gazebo world puts the car (its `f1` include's pose), facing the world's own
    /// direction; `None` for a circuit without a world, or a world without a car.
    pub spawn: Option<Pose2>,
    /// The red band's centre as the camera sees it: a world's line as traced from its meshes
    /// (the circuit's line is that, smoothed, which pulls it inwards in tight bends); `None`
    /// where the band is drawn along the circuit's own line.
    pub painted: Option<ClosedPolyline>,
    /// The camera of the car a Gazebo world includes, read from the car's SDF; `None` where
    /// the look's camera is used.
    pub camera: Option<CameraConfig>,
}

/// Where the car is put when a run starts.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Spawn {
    /// Where the track puts it: a Gazebo world's own spawn pose (turned round for a run the
    /// other way round, as the worlds' alternative poses are), else the line's first point
    /// facing the driving direction.
    #[default]
    Track,
    /// On the line, `along` metres from its first point in the driving direction and `left`
    /// metres to the left of it, facing the driving direction.
    OnLine {
        /// Metres along the line (taken round the lap).
        along: f64,
        /// Metres to the left of the line (negative: to the right).
        left: f64,
    },
    /// At a pose in the world frame, as Gazebo's spawn takes it (x, y, yaw).
    Pose(Pose2),
}

impl Spawn {
    /// `X,Y,YAW` as a pose: three finite numbers (metres, metres, radians), as `sim
    /// --start-pose` and the simulator node's `start_pose` take it.
    pub fn parse_pose(text: &str) -> Result<Pose2, String> {
        let values: Vec<f64> = text
            .split(',')
            .map(|v| v.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|e| format!("'{text}': {e} (expected X,Y,YAW)"))?;
        match values.as_slice() {
            [x, y, yaw] if values.iter().all(|v| v.is_finite()) => Ok(Pose2 {
                p: Vec2::new(*x, *y),
                yaw: *yaw,
            }),
            [_, _, _] => Err(format!("'{text}': every number must be finite")),
            _ => Err(format!(
                "'{text}': {} numbers, expected three: X,Y,YAW",
                values.len()
            )),
        }
    }

    /// Checks the numbers; the error names the setting.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        let finite = |name: &'static str, values: &[f64]| {
            if values.iter().all(|v| v.is_finite()) {
                Ok(())
            } else {
                let shown: Vec<String> = values.iter().map(|v| v.to_string()).collect();
                Err(InvalidSetting::new(
                    name,
                    format!("{} is not finite", shown.join(",")),
                ))
            }
        };
        match *self {
            Spawn::Track => Ok(()),
            Spawn::OnLine { along, left } => {
                finite("start_at", &[along])?;
                within("start_left", left, -50.0, 50.0).map(|_| ())
            }
            Spawn::Pose(p) => finite("start_pose", &[p.p.x, p.p.y, p.yaw]),
        }
    }
}

impl Track {
    /// `circuit` in `look`: the classic look, or Behavior Metrics' built around its line.
    pub fn new(circuit: Circuit, look: Look) -> Track {
        let scenery = match look {
            Look::Classic => Scenery::Classic,
            Look::BehaviorMetrics => Scenery::Scene(Arc::new(behavior_metrics_look(&circuit))),
        };
        Track {
            circuit,
            scenery,
            spawn: None,
            painted: None,
            camera: None,
        }
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
        Track::world_in(path, reversed, Light::First)
    }

    /// A Gazebo world as [`Track::world`], drawn in `light`.
    pub fn world_in(path: &Path, reversed: bool, light: Light) -> Result<Track, TrackError> {
        let world = gazebo::load(path, light)?;
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
            spawn: world.spawn,
            painted: Some(ClosedPolyline::new(world.line.points.clone())),
            camera: world.camera,
        })
    }

    /// The camera a run on this track sees through: the world's car's, else the look's.
    pub fn camera(&self) -> CameraConfig {
        self.camera.unwrap_or_else(|| self.look().camera())
    }

    /// The red band's centre as the camera sees it (see [`Track::painted`]).
    pub fn painted_line(&self) -> &ClosedPolyline {
        self.painted.as_ref().unwrap_or(&self.circuit.centre)
    }

    /// The car's pose at the start of a run: `spawn` on this track.
    pub fn start_pose(&self, spawn: &Spawn) -> Pose2 {
        match *spawn {
            Spawn::Track => match self.spawn {
                Some(pose) if self.circuit.reversed => Pose2 {
                    p: pose.p,
                    yaw: wrap_angle(pose.yaw + std::f64::consts::PI),
                },
                Some(pose) => pose,
                None => self.circuit.start_pose(),
            },
            Spawn::OnLine { along, left } => {
                let on_line = self.circuit.pose_at(along);
                Pose2 {
                    p: on_line.to_world(Vec2::new(0.0, left)),
                    yaw: on_line.yaw,
                }
            }
            Spawn::Pose(pose) => pose,
        }
    }

    /// `spec` as a track: a Gazebo world when it names a `.sdf` or `.world` file (whose own
    /// look it has), else a built-in circuit or CSV lap in `look`.
    pub fn open(
        spec: &str,
        road: Option<RoadGeometry>,
        reversed: bool,
        look: Look,
    ) -> Result<Track, TrackError> {
        Track::open_in(spec, road, reversed, look, Light::First)
    }

    /// `spec` as [`Track::open`] opens it, a world drawn in `light`.
    pub fn open_in(
        spec: &str,
        road: Option<RoadGeometry>,
        reversed: bool,
        look: Look,
        light: Light,
    ) -> Result<Track, TrackError> {
        if is_world(spec) {
            Track::world_in(Path::new(spec), reversed, light)
        } else {
            Track::load(spec, road, reversed, look)
        }
    }

    /// This track with its scene restyled (a Gazebo look's line and wall colours, its light;
    /// see [`SceneLook`]); the classic look has no scene and is returned as it is.
    pub fn restyled(mut self, look: &SceneLook) -> Track {
        if let Scenery::Scene(scene) = &self.scenery {
            self.scenery = Scenery::Scene(Arc::new(look.apply(scene)));
        }
        self
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
