//! The brain node's ROS parameters: declared with r2r's `RosParams` derive (so `ros2 param`
//! lists, gets and sets them), loaded from `--ros-args --params-file config/brain.yaml` and
//! `-p name:=value`, and validated into the core's settings before anything starts.
//! Unknown parameter names and values out of range are startup errors naming the parameter.

use std::path::PathBuf;
use std::time::Duration;

use r2r::RosParams;
use thiserror::Error;

use crate::backend::{BackendConfig, BackendKind, Device};
use crate::control::CommandLimits;

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
        name: &'static str,
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

/// Topic names (remappable the ROS way, `-r old:=new`, as well).
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
    /// Highest rate of change of v, m/s² (0: none).
    pub dv_max: f64,
    /// Highest rate of change of w, rad/s² (0: none).
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
    /// Intra-op threads of the engine.
    pub threads: i64,
    /// Topic names.
    pub topics: Topics,
    /// Camera QoS.
    pub qos: Qos,
    /// Command limits.
    pub limits: Limits,
    /// No camera frame for this long → zero Twist, ms.
    pub stall_timeout_ms: f64,
    /// Reference lap (CSV `x,y`) for the lap statistics; empty: no lap statistics.
    pub reference_lap: String,
    /// Drive the reference lap the other way round.
    pub reverse: bool,
    /// Laps after which the stats are written (the node keeps driving).
    pub laps: i64,
    /// Folder for stats.json, trajectory.csv and path.png; empty: not written.
    pub stats_dir: String,
    /// Period of the summary topic, s.
    pub summary_period_s: f64,
    /// Added to every inference, ms (tests of the drop policy; 0 in use).
    pub extra_inference_ms: f64,
}

impl Default for BrainParams {
    fn default() -> Self {
        let limits = CommandLimits::default();
        BrainParams {
            model: "fp32".into(),
            backend: String::new(),
            device: "cpu".into(),
            threads: 1,
            topics: Topics {
                camera: "/F1ROS/cameraL/image_raw".into(),
                odometry: "/F1ROS/odom".into(),
                cmd_vel: "/F1ROS/cmd_vel".into(),
                summary: "/brain/summary".into(),
            },
            qos: Qos {
                camera_depth: 1,
                camera_reliable: false,
            },
            limits: Limits {
                v_max: limits.v_max,
                w_max: limits.w_max,
                dv_max: 0.0,
                dw_max: 0.0,
            },
            stall_timeout_ms: 250.0,
            reference_lap: String::new(),
            reverse: false,
            laps: 1,
            stats_dir: String::new(),
            summary_period_s: 1.0,
            extra_inference_ms: 0.0,
        }
    }
}

/// Validated settings the node runs with.
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
    /// Summary period.
    pub summary_period: Duration,
    /// Artificial extra inference time.
    pub extra_inference: Duration,
}

fn invalid(name: &'static str, what: impl Into<String>) -> ParamError {
    ParamError::Invalid {
        name,
        what: what.into(),
    }
}

/// `v` if it is a positive finite number, else an error naming the parameter.
pub(crate) fn positive(name: &'static str, v: f64) -> Result<f64, ParamError> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(invalid(name, format!("{v} must be a positive number")))
    }
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
        let kind = match self.backend.as_str() {
            "" => None,
            "ort" => Some(BackendKind::Ort),
            "tch" => Some(BackendKind::Tch),
            other => {
                return Err(invalid(
                    "backend",
                    format!("'{other}' is not ort, tch or empty"),
                ))
            }
        };
        let device: Device = self
            .device
            .parse()
            .map_err(|e: String| invalid("device", e))?;
        if !(1..=256).contains(&self.threads) {
            return Err(invalid(
                "threads",
                format!("{} is not in 1..=256", self.threads),
            ));
        }
        if !(1..=100).contains(&self.qos.camera_depth) {
            return Err(invalid(
                "qos.camera_depth",
                format!("{} is not in 1..=100", self.qos.camera_depth),
            ));
        }
        for (name, topic) in [
            ("topics.camera", &self.topics.camera),
            ("topics.odometry", &self.topics.odometry),
            ("topics.cmd_vel", &self.topics.cmd_vel),
            ("topics.summary", &self.topics.summary),
        ] {
            if topic.is_empty() || topic.contains(char::is_whitespace) {
                return Err(invalid(name, format!("'{topic}' is not a topic name")));
            }
        }
        let rate = |name, v: f64| -> Result<f64, ParamError> {
            if v == 0.0 {
                Ok(f64::INFINITY)
            } else {
                positive(name, v)
            }
        };
        let limits = CommandLimits {
            v_max: positive("limits.v_max", self.limits.v_max)?,
            w_max: positive("limits.w_max", self.limits.w_max)?,
            dv_max: rate("limits.dv_max", self.limits.dv_max)?,
            dw_max: rate("limits.dw_max", self.limits.dw_max)?,
            ..CommandLimits::default()
        };
        limits
            .validate()
            .map_err(|e| invalid("limits", e.to_string()))?;
        if self.laps < 1 {
            return Err(invalid("laps", format!("{} must be at least 1", self.laps)));
        }
        if !(self.extra_inference_ms.is_finite() && self.extra_inference_ms >= 0.0) {
            return Err(invalid(
                "extra_inference_ms",
                format!("{} must be ≥ 0", self.extra_inference_ms),
            ));
        }
        Ok(BrainSettings {
            model: self.model.clone(),
            backend: BackendConfig {
                kind,
                device,
                threads: self.threads as usize,
                ..BackendConfig::default()
            },
            limits,
            stall_timeout: Duration::from_secs_f64(
                positive("stall_timeout_ms", self.stall_timeout_ms)? / 1e3,
            ),
            summary_period: Duration::from_secs_f64(positive(
                "summary_period_s",
                self.summary_period_s,
            )?),
            extra_inference: Duration::from_secs_f64(self.extra_inference_ms / 1e3),
        })
    }
}

/// Reads `--params-file PATH` from the process's ROS arguments and checks the file exists and
/// is YAML before rcl sees it (rcl aborts the process on a missing or unparseable file).
pub fn check_params_files() -> Result<(), ParamError> {
    let args: Vec<String> = std::env::args().collect();
    for pair in args.windows(2) {
        if pair[0] == "--params-file" {
            let path = PathBuf::from(&pair[1]);
            let text = std::fs::read_to_string(&path).map_err(|e| ParamError::File {
                path: path.clone(),
                what: e.to_string(),
            })?;
            serde_yaml::from_str::<serde_yaml::Value>(&text).map_err(|e| ParamError::File {
                path: path.clone(),
                what: format!("not valid YAML: {e}"),
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
