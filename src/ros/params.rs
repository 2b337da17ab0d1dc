//! Both nodes' ROS parameters: declared with r2r's `RosParams` derive (so `ros2 param` lists,
//! gets and sets them), loaded from `--ros-args --params-file config/*.yaml` and
//! `-p name:=value`, and turned into the core's settings structs before anything starts.
//!
//! The defaults are the core's defaults and the ranges are the core's validation: this file
//! only says how ROS spells each setting (`limits.v_max` for the limits' `v_max`). Unknown
//! names and values out of range are startup errors naming the parameter.

use std::path::PathBuf;
use std::time::Duration;

use r2r::RosParams;
use thiserror::Error;

use super::topics;
use crate::base::control::CommandLimits;
use crate::base::params_file;
use crate::base::settings::{within, InvalidSetting};
use crate::driving::brain::BrainConfig;
use crate::driving::health::HealthConfig;
use crate::evaluation::laps::Direction;
use crate::inference::backend::{BackendConfig, BackendKind, Device};
use crate::sim::gazebo::Light;
use crate::sim::world::WorldConfig;
use crate::sim::{Look, Spawn};

/// A parameter problem, found at startup.
#[derive(Debug, Error)]
pub enum ParamError {
    /// A name the node does not have (a typo in the params file, usually).
    #[error("unknown parameter '{name}' (known: {known})")]
    Unknown {
        /// The name given.
        name: String,
        /// The node's parameter names.
        known: String,
    },
    /// A value out of range or unparseable.
    #[error("parameter '{name}': {what}")]
    Invalid {
        /// The parameter.
        name: String,
        /// What is wrong.
        what: String,
    },
    /// The params file named on the command line does not exist or is not readable.
    #[error("params file {path}: {what}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
}

fn invalid(name: impl Into<String>, what: impl Into<String>) -> ParamError {
    ParamError::Invalid {
        name: name.into(),
        what: what.into(),
    }
}

/// A core setting error as the parameter `prefix` + its name.
fn param(prefix: &'static str) -> impl Fn(InvalidSetting) -> ParamError {
    move |e| invalid(format!("{prefix}{}", e.name), e.problem)
}

/// A non-negative integer parameter as a count (its range is the core's to check).
fn count(name: &'static str, value: i64) -> Result<usize, ParamError> {
    usize::try_from(value).map_err(|_| invalid(name, format!("{value} must not be negative")))
}

fn topic(name: &'static str, value: &str) -> Result<(), ParamError> {
    if value.is_empty() || value.contains(char::is_whitespace) {
        return Err(invalid(name, format!("'{value}' is not a topic name")));
    }
    Ok(())
}

/// The brain node's topic names (remappable the ROS way, `-r old:=new`, as well).
#[derive(RosParams, Debug, Clone, PartialEq)]
pub struct Topics {
    /// Camera images (sensor_msgs/Image).
    pub camera: String,
    /// Odometry (nav_msgs/Odometry).
    pub odometry: String,
    /// Velocity commands (geometry_msgs/Twist).
    pub cmd_vel: String,
    /// Periodic JSON summary (std_msgs/String).
    pub summary: String,
    /// The enable switch, a std_srvs/SetBool service: false → zero commands, statistics
    /// paused; true → driving again.
    pub enable: String,
}

/// What `/diagnostics` judges the brain against.
#[derive(RosParams, Debug, Clone, PartialEq)]
pub struct Diagnostics {
    /// The camera's nominal rate, Hz (0.0: reported, not judged).
    pub expected_camera_hz: f64,
    /// WARN below this fraction of the expected rate.
    pub min_rate_fraction: f64,
    /// WARN when the inference's 99th percentile exceeds this, ms (0.0: not judged).
    pub inference_budget_ms: f64,
}

/// The velocity command's message.
#[derive(RosParams, Debug, Clone, PartialEq)]
pub struct CommandMsg {
    /// Publish `geometry_msgs/TwistStamped` (ros2_control's diff_drive_controller on Jazzy,
    /// Nav2), stamped with the camera frame's stamp, instead of `geometry_msgs/Twist`
    /// (Behavior Metrics).
    pub stamped: bool,
    /// `header.frame_id` of a stamped command.
    pub frame_id: String,
}

/// QoS of the camera subscription.
#[derive(RosParams, Debug, Clone, PartialEq)]
pub struct Qos {
    /// Keep-last depth of the camera subscription.
    pub camera_depth: i64,
    /// Reliable camera subscription (default: best effort, the sensor-data profile; a
    /// reliable subscriber never hears a best-effort camera).
    pub camera_reliable: bool,
}

/// Limits on the commands sent.
#[derive(RosParams, Debug, Clone, PartialEq)]
pub struct Limits {
    /// Highest forward speed, m/s.
    pub v_max: f64,
    /// Highest yaw-rate magnitude, rad/s.
    pub w_max: f64,
    /// Highest rate of change of v, m/s² (0: no limit).
    pub dv_max: f64,
    /// Highest rate of change of w, rad/s² (0: no limit).
    pub dw_max: f64,
}

/// Every parameter of the brain node.
#[derive(RosParams, Debug, Clone, PartialEq)]
pub struct BrainParams {
    /// A shipped variant's name (`fp32`, `static_int8`, ...) or a model file.
    pub model: String,
    /// `ort`, `tch`, or empty for the model's format.
    pub backend: String,
    /// `cpu`, `cuda[:N]` or `tensorrt[:N]`.
    pub device: String,
    /// Intra-op threads of the engine (1 to 256).
    pub threads: i64,
    /// Topic names.
    pub topics: Topics,
    /// `raw`: `sensor_msgs/Image` on `topics.camera`; `compressed`: `sensor_msgs/CompressedImage`
    /// (JPEG or PNG) on `topics.camera` + `/compressed`, as image_transport names it.
    pub camera_transport: String,
    /// The command's message type.
    pub command: CommandMsg,
    /// Camera QoS.
    pub qos: Qos,
    /// Command limits.
    pub limits: Limits,
    /// No camera frame for this long → zero Twist, ms.
    pub stall_timeout_ms: f64,
    /// Reference lap for the lap statistics (CSV `x,y`, a built-in circuit, or a Gazebo
    /// world whose red line is traced); empty: no lap statistics.
    pub reference_lap: String,
    /// Which way round the car drives the reference lap: `auto` (found from its first
    /// metres), `forward` (the lap's own order) or `reverse`.
    pub direction: String,
    /// Laps after which the stats are written (the node keeps driving).
    pub laps: i64,
    /// Folder for stats.json, trajectory.csv and path.png; empty: not written.
    pub stats_dir: String,
    /// Period of the summary topic and of the stats.json checkpoint, s (0.01 to 3600).
    pub summary_period_s: f64,
    /// Health on `/diagnostics`, once a second.
    pub diagnostics: Diagnostics,
    /// End the node once the run record is written (lap completed, stuck, off the road), so a
    /// scripted run ends by itself; false: keep driving until stopped.
    pub exit_on_end: bool,
}

impl Default for BrainParams {
    fn default() -> Self {
        let limits = CommandLimits::default();
        let backend = BackendConfig::default();
        let health = HealthConfig::default();
        BrainParams {
            model: "fp32".into(),
            backend: String::new(),
            device: backend.device.to_string(),
            threads: backend.threads as i64,
            topics: Topics {
                camera: topics::CAMERA.into(),
                odometry: topics::ODOMETRY.into(),
                cmd_vel: topics::CMD_VEL.into(),
                summary: topics::SUMMARY.into(),
                enable: topics::ENABLE.into(),
            },
            camera_transport: "raw".into(),
            command: CommandMsg {
                stamped: false,
                frame_id: "base_link".into(),
            },
            qos: Qos {
                camera_depth: 1,
                camera_reliable: false,
            },
            limits: Limits {
                v_max: limits.v_max,
                w_max: limits.w_max,
                dv_max: limits.dv_max,
                dw_max: limits.dw_max,
            },
            stall_timeout_ms: BrainConfig::default().stall_timeout.as_secs_f64() * 1e3,
            reference_lap: String::new(),
            direction: Direction::default().as_str().into(),
            laps: 1,
            stats_dir: String::new(),
            summary_period_s: 1.0,
            diagnostics: Diagnostics {
                expected_camera_hz: health.expected_camera_hz,
                min_rate_fraction: health.min_rate_fraction,
                inference_budget_ms: health.inference_budget_ms,
            },
            exit_on_end: false,
        }
    }
}

/// The settings the brain node runs with, checked.
#[derive(Debug, Clone)]
pub struct BrainSettings {
    /// Model name or path, as given.
    pub model: String,
    /// Inference settings.
    pub backend: BackendConfig,
    /// Command limits.
    pub limits: CommandLimits,
    /// Stall timeout.
    pub stall_timeout: Duration,
    /// Laps of the reference lap to record.
    pub laps: u32,
    /// Which way round it is driven.
    pub direction: Direction,
    /// Summary period.
    pub summary_period: Duration,
    /// Whether the camera comes as `CompressedImage` on `topics.camera` + `/compressed`.
    pub compressed_camera: bool,
    /// What `/diagnostics` judges against.
    pub health: HealthConfig,
}

impl BrainParams {
    /// Checks every value and builds the core's settings.
    pub fn validate(&self) -> Result<BrainSettings, ParamError> {
        if self.model.trim().is_empty() {
            return Err(invalid(
                "model",
                "empty: name a shipped variant or a model file",
            ));
        }
        let kind =
            match self.backend.as_str() {
                "" => None,
                name => Some(name.parse::<BackendKind>().map_err(|e| {
                    invalid("backend", format!("{e}; empty picks the model's format"))
                })?),
            };
        let device: Device = self
            .device
            .parse()
            .map_err(|e: String| invalid("device", e))?;
        let backend = BackendConfig {
            kind,
            device,
            threads: count("threads", self.threads)?,
            ..BackendConfig::default()
        };
        backend.validate().map_err(param(""))?;
        within("camera_depth", self.qos.camera_depth, 1, 100).map_err(param("qos."))?;
        topic("topics.camera", &self.topics.camera)?;
        topic("topics.odometry", &self.topics.odometry)?;
        topic("topics.cmd_vel", &self.topics.cmd_vel)?;
        topic("topics.summary", &self.topics.summary)?;
        topic("topics.enable", &self.topics.enable)?;
        let compressed_camera = match self.camera_transport.as_str() {
            "raw" => false,
            "compressed" => true,
            other => {
                return Err(invalid(
                    "camera_transport",
                    format!("'{other}' is neither raw nor compressed"),
                ))
            }
        };
        if self.command.stamped
            && (self.command.frame_id.is_empty()
                || self.command.frame_id.contains(char::is_whitespace))
        {
            return Err(invalid(
                "command.frame_id",
                format!("'{}' is not a frame id", self.command.frame_id),
            ));
        }
        let limits = CommandLimits {
            v_max: self.limits.v_max,
            w_max: self.limits.w_max,
            dv_max: self.limits.dv_max,
            dw_max: self.limits.dw_max,
            ..CommandLimits::default()
        };
        limits.validate().map_err(param("limits."))?;
        let stall_timeout =
            BrainConfig::stall_timeout_from_ms(self.stall_timeout_ms).map_err(param(""))?;
        BrainConfig {
            stall_timeout,
            ..BrainConfig::default()
        }
        .validate()
        .map_err(param(""))?;
        let laps = within("laps", self.laps, 1, 1_000_000).map_err(param(""))?;
        let direction: Direction = self
            .direction
            .parse()
            .map_err(|e: String| invalid("direction", e))?;
        // Each period publishes the summary and rewrites stats.json: not faster than 100 Hz.
        let period =
            within("summary_period_s", self.summary_period_s, 0.01, 3600.0).map_err(param(""))?;
        let summary_period = Duration::from_secs_f64(period);
        let health = HealthConfig {
            expected_camera_hz: self.diagnostics.expected_camera_hz,
            min_rate_fraction: self.diagnostics.min_rate_fraction,
            inference_budget_ms: self.diagnostics.inference_budget_ms,
            stall_timeout,
        };
        health.validate().map_err(param("diagnostics."))?;
        if self.exit_on_end && self.reference_lap.is_empty() {
            return Err(invalid(
                "exit_on_end",
                "needs reference_lap: the run ends when its lap statistics do",
            ));
        }
        Ok(BrainSettings {
            model: self.model.clone(),
            backend,
            limits,
            stall_timeout,
            laps: laps as u32,
            direction,
            summary_period,
            compressed_camera,
            health,
        })
    }
}

/// The simulator node's topic names.
#[derive(RosParams, Debug, Clone, PartialEq)]
pub struct SimTopics {
    /// Camera images out.
    pub camera: String,
    /// Odometry out.
    pub odometry: String,
    /// Velocity commands in.
    pub cmd_vel: String,
}

/// Every parameter of the simulator node.
#[derive(RosParams, Debug, Clone, PartialEq)]
pub struct SimNodeParams {
    /// Built-in circuit name or CSV path.
    pub circuit: String,
    /// A Gazebo world (model.sdf or .world) to simulate instead of `circuit`; empty: none.
    pub world: String,
    /// `gazebo` (Behavior Metrics' world and F1 camera) or `classic`.
    pub look: String,
    /// A `world`'s light: `first` (the first calibrated look), `world` (Gazebo's, from the world
    /// file) or `sun` (Gazebo's without its ambient term).
    pub light: String,
    /// Drive it the other way round.
    pub reverse: bool,
    /// Where the car starts: `X,Y,YAW` in the world frame (metres, radians), as Gazebo's
    /// spawn takes it; empty: a world's own spawn pose (turned round with `reverse`), else
    /// the line's first point.
    pub start_pose: String,
    /// Camera rate, Hz.
    pub camera_hz: f64,
    /// Odometry rate, Hz.
    pub odometry_hz: f64,
    /// Physics step, s.
    pub physics_dt: f64,
    /// Simulated seconds per wall second.
    pub real_time_factor: f64,
    /// Publish /clock.
    pub publish_clock: bool,
    /// Topic names.
    pub topics: SimTopics,
}

impl Default for SimNodeParams {
    fn default() -> Self {
        let world = WorldConfig::default();
        SimNodeParams {
            circuit: "lakeside".into(),
            world: String::new(),
            look: Look::default().as_str().into(),
            light: Light::default().to_string(),
            reverse: false,
            start_pose: String::new(),
            camera_hz: world.camera.rate_hz,
            odometry_hz: world.odometry_hz,
            physics_dt: world.physics_dt,
            real_time_factor: 1.0,
            publish_clock: true,
            topics: SimTopics {
                camera: topics::CAMERA.into(),
                odometry: topics::ODOMETRY.into(),
                cmd_vel: topics::CMD_VEL.into(),
            },
        }
    }
}

/// The settings the simulator node runs with, checked.
#[derive(Debug, Clone)]
pub struct SimNodeSettings {
    /// The look (a `world` is always Behavior Metrics').
    pub look: Look,
    /// A `world`'s light.
    pub light: Light,
    /// The world.
    pub world: WorldConfig,
    /// Simulated seconds per wall second.
    pub real_time_factor: f64,
}

impl SimNodeParams {
    /// Checks every value and builds the core's settings.
    pub fn validate(&self) -> Result<SimNodeSettings, ParamError> {
        let look: Look = if self.world.is_empty() {
            self.look.parse().map_err(|e: String| invalid("look", e))?
        } else {
            Look::BehaviorMetrics
        };
        let light: Light = self
            .light
            .parse()
            .map_err(|e: String| invalid("light", e))?;
        let spawn = match self.start_pose.as_str() {
            "" => Spawn::Track,
            text => Spawn::Pose(Spawn::parse_pose(text).map_err(|e| invalid("start_pose", e))?),
        };
        let mut world = WorldConfig {
            physics_dt: self.physics_dt,
            odometry_hz: self.odometry_hz,
            camera: look.camera(),
            spawn,
            ..WorldConfig::default()
        };
        world.camera.rate_hz = self.camera_hz;
        world.validate().map_err(param(""))?;
        let real_time_factor =
            within("real_time_factor", self.real_time_factor, 1e-3, 1e3).map_err(param(""))?;
        topic("topics.camera", &self.topics.camera)?;
        topic("topics.odometry", &self.topics.odometry)?;
        topic("topics.cmd_vel", &self.topics.cmd_vel)?;
        Ok(SimNodeSettings {
            look,
            light,
            world,
            real_time_factor,
        })
    }
}

/// Reads `--params-file PATH` from the process's ROS arguments and checks each file before
/// rcl sees it (rcl aborts the process on a missing or unparseable file).
pub fn check_params_files() -> Result<(), ParamError> {
    let args: Vec<String> = std::env::args().collect();
    for pair in args.windows(2) {
        if pair[0] == "--params-file" {
            params_file::check_file(std::path::Path::new(&pair[1])).map_err(|e| {
                ParamError::File {
                    path: e.path,
                    what: e.what,
                }
            })?;
        }
    }
    Ok(())
}

/// Every parameter the node was given must be one of `params`' (r2r keeps unknown names
/// silently, so a typo in a params file would otherwise leave the default in force).
pub fn reject_unknown<P: RosParams>(
    node: &r2r::Node,
    params: &std::sync::Mutex<P>,
) -> Result<(), ParamError> {
    let names: Vec<String> = node
        .params
        .lock()
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default();
    let mut p = params.lock().unwrap_or_else(|e| e.into_inner());
    let known = |p: &mut P, n: &str| n == "use_sim_time" || p.get_parameter(n).is_ok();
    if let Some(bad) = names.iter().find(|n| !known(&mut p, n)) {
        let known_list = names
            .iter()
            .filter(|n| known(&mut p, n))
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(", ");
        return Err(ParamError::Unknown {
            name: bad.clone(),
            known: known_list,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use r2r::indexmap::IndexMap;
    use r2r::ParameterValue;

    /// Every parameter of `P` with its default value, by its dotted name.
    fn defaults<P: RosParams + Default>() -> IndexMap<String, ParameterValue> {
        let mut map = IndexMap::new();
        P::default()
            .register_parameters("", None, &mut map)
            .expect("parameters register");
        map.into_iter().map(|(k, p)| (k, p.value)).collect()
    }

    /// The leaves of `node`'s `ros__parameters` in a params file, by dotted name.
    fn params_file(file: &str, node: &str) -> IndexMap<String, serde_yaml::Value> {
        fn walk(
            prefix: &str,
            v: &serde_yaml::Value,
            out: &mut IndexMap<String, serde_yaml::Value>,
        ) {
            match v {
                serde_yaml::Value::Mapping(m) => {
                    for (k, v) in m {
                        let k = k.as_str().expect("string keys");
                        let name = if prefix.is_empty() {
                            k.to_string()
                        } else {
                            format!("{prefix}.{k}")
                        };
                        walk(&name, v, out);
                    }
                }
                leaf => {
                    out.insert(prefix.to_string(), leaf.clone());
                }
            }
        }
        let path = format!("{}/config/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).expect("params file");
        let yaml: serde_yaml::Value = serde_yaml::from_str(&text).expect("YAML");
        let mut out = IndexMap::new();
        walk("", &yaml[node]["ros__parameters"], &mut out);
        out
    }

    /// The file holds every parameter, nothing else, each at its default and of its type (a
    /// float written without a decimal point would be an integer to ROS).
    fn assert_file_holds_the_defaults<P: RosParams + Default>(file: &str, node: &str) {
        let defaults = defaults::<P>();
        let file_values = params_file(file, node);
        let names = |m: Vec<&String>| m.into_iter().cloned().collect::<Vec<_>>();
        let (mut a, mut b) = (
            names(defaults.keys().collect()),
            names(file_values.keys().collect()),
        );
        a.sort();
        b.sort();
        assert_eq!(a, b, "{file}: parameter names");
        for (name, value) in &defaults {
            let y = &file_values[name];
            let same = match value {
                ParameterValue::Bool(v) => y.as_bool() == Some(*v),
                ParameterValue::Integer(v) => y.is_i64() && y.as_i64() == Some(*v),
                ParameterValue::Double(v) => y.is_f64() && y.as_f64() == Some(*v),
                ParameterValue::String(v) => y.as_str() == Some(v.as_str()),
                other => panic!("{name}: unexpected parameter type {other:?}"),
            };
            assert!(same, "{file}: {name} is {y:?}, the default is {value:?}");
        }
    }

    #[test]
    fn the_params_files_hold_exactly_the_defaults() {
        assert_file_holds_the_defaults::<BrainParams>("brain.yaml", "brain");
        assert_file_holds_the_defaults::<SimNodeParams>("sim.yaml", "sim");
    }

    #[test]
    fn the_defaults_are_valid_and_are_the_cores() {
        let s = BrainParams::default().validate().unwrap();
        assert_eq!(s.backend, BackendConfig::default());
        assert_eq!(s.limits, CommandLimits::default());
        assert_eq!(s.stall_timeout, BrainConfig::default().stall_timeout);
        let sim = SimNodeParams::default().validate().unwrap();
        assert_eq!(sim.world, WorldConfig::default());
    }

    #[test]
    fn a_worlds_light_is_one_the_simulator_knows() {
        let sun = SimNodeParams {
            light: "sun".into(),
            ..Default::default()
        };
        assert_eq!(sun.validate().unwrap().light, Light::Sun);
        let dusk = SimNodeParams {
            light: "dusk".into(),
            ..Default::default()
        };
        let e = dusk.validate().unwrap_err().to_string();
        assert!(e.contains("light") && e.contains("dusk"), "{e}");
    }

    /// Each wrong value is refused naming its parameter, with the core's reason.
    #[test]
    fn out_of_range_values_name_the_parameter() {
        let cases: Vec<(BrainParams, &str, &str)> = vec![
            (
                BrainParams {
                    threads: 100_000,
                    ..Default::default()
                },
                "threads",
                "not in [1, 256]",
            ),
            (
                BrainParams {
                    command: CommandMsg {
                        stamped: true,
                        frame_id: String::new(),
                    },
                    ..Default::default()
                },
                "command.frame_id",
                "is not a frame id",
            ),
            (
                BrainParams {
                    camera_transport: "theora".into(),
                    ..Default::default()
                },
                "camera_transport",
                "neither raw nor compressed",
            ),
            (
                BrainParams {
                    exit_on_end: true,
                    ..Default::default()
                },
                "exit_on_end",
                "needs reference_lap",
            ),
            (
                BrainParams {
                    diagnostics: Diagnostics {
                        min_rate_fraction: 2.0,
                        ..BrainParams::default().diagnostics
                    },
                    ..Default::default()
                },
                "diagnostics.min_rate_fraction",
                "not in [0, 1]",
            ),
            (
                BrainParams {
                    threads: -2,
                    ..Default::default()
                },
                "threads",
                "must not be negative",
            ),
            (
                BrainParams {
                    backend: "onnx".into(),
                    ..Default::default()
                },
                "backend",
                "unknown backend 'onnx'",
            ),
            (
                BrainParams {
                    device: "npu".into(),
                    ..Default::default()
                },
                "device",
                "npu",
            ),
            (
                BrainParams {
                    model: " ".into(),
                    ..Default::default()
                },
                "model",
                "empty",
            ),
            (
                BrainParams {
                    laps: 0,
                    ..Default::default()
                },
                "laps",
                "0 is not in",
            ),
            (
                BrainParams {
                    stall_timeout_ms: 0.0,
                    ..Default::default()
                },
                "stall_timeout_ms",
                "positive",
            ),
            (
                BrainParams {
                    summary_period_s: f64::NAN,
                    ..Default::default()
                },
                "summary_period_s",
                "NaN is not in [0.01, 3600]",
            ),
            (
                BrainParams {
                    summary_period_s: 1e-6,
                    ..Default::default()
                },
                "summary_period_s",
                "0.000001 is not in [0.01, 3600]",
            ),
            (
                BrainParams {
                    qos: Qos {
                        camera_depth: 0,
                        camera_reliable: false,
                    },
                    ..Default::default()
                },
                "qos.camera_depth",
                "0 is not in",
            ),
            (
                BrainParams {
                    topics: Topics {
                        camera: "a b".into(),
                        ..BrainParams::default().topics
                    },
                    ..Default::default()
                },
                "topics.camera",
                "not a topic name",
            ),
            (
                BrainParams {
                    limits: Limits {
                        v_max: -1.0,
                        ..BrainParams::default().limits
                    },
                    ..Default::default()
                },
                "limits.v_max",
                "-1 is not in",
            ),
            (
                BrainParams {
                    limits: Limits {
                        dw_max: -1.0,
                        ..BrainParams::default().limits
                    },
                    ..Default::default()
                },
                "limits.dw_max",
                "-1 is not in",
            ),
        ];
        for (params, name, what) in cases {
            let e = params.validate().unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("parameter '{name}': ")),
                "{name}: {e}"
            );
            assert!(e.contains(what), "{name}: {e}");
        }
        let sim_cases: Vec<(SimNodeParams, &str)> = vec![
            (
                SimNodeParams {
                    physics_dt: 0.5,
                    ..Default::default()
                },
                "physics_dt",
            ),
            (
                SimNodeParams {
                    camera_hz: 0.0,
                    ..Default::default()
                },
                "camera_hz",
            ),
            (
                SimNodeParams {
                    odometry_hz: -1.0,
                    ..Default::default()
                },
                "odometry_hz",
            ),
            (
                SimNodeParams {
                    real_time_factor: 0.0,
                    ..Default::default()
                },
                "real_time_factor",
            ),
        ];
        for (params, name) in sim_cases {
            let e = params.validate().unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("parameter '{name}': ")),
                "{name}: {e}"
            );
        }
    }

    #[test]
    fn zero_rate_limits_mean_none_everywhere() {
        let s = BrainParams::default().validate().unwrap();
        assert_eq!(s.limits.dv_max, CommandLimits::NO_RATE_LIMIT);
        let limited = BrainParams {
            limits: Limits {
                dv_max: 1.5,
                ..BrainParams::default().limits
            },
            ..Default::default()
        };
        assert_eq!(limited.validate().unwrap().limits.dv_max, 1.5);
    }
}
