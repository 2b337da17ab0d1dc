//! Command-line interface: every flag is defined here, and turned into validated library
//! settings in one place ([`SimArgs::to_config`]).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use pilotnet_brain::backend::{
    BackendConfig, BackendKind, Device, GraphOptimization, TensorRtConfig, TensorRtPrecision,
};
use pilotnet_brain::bench::BenchConfig;
use pilotnet_brain::circuit::RoadGeometry;
use pilotnet_brain::control::CommandLimits;
use pilotnet_brain::dataset::Perturbation;
use pilotnet_brain::sim::camera::CameraConfig;
use pilotnet_brain::sim::render::Appearance;
use pilotnet_brain::sim::{Latency, SimConfig};

/// PilotNet driving brain: drive laps in the embedded simulator and measure them.
#[derive(Debug, Parser)]
#[command(name = "pilotnet-brain", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Drive laps of a circuit in the embedded simulator and print lap statistics.
    Sim(SimArgs),
    /// List the built-in circuits.
    Circuits,
    /// Measure a model offline: size, preprocessing and inference time, dataset MSE.
    Bench(BenchArgs),
    /// Record a training dataset: the expert drives, frames are stored as the network sees them.
    Dataset(DatasetArgs),
    /// List the model variants of the catalogue (models/manifest.yaml), optionally verified.
    Models(ModelsArgs),
    /// Run the brain as a ROS 2 node: `node --ros-args --params-file config/brain.yaml`.
    #[cfg(feature = "ros2")]
    Node(RosArgs),
    /// Run the simulator as a ROS 2 node (camera, odometry, /clock out; cmd_vel in).
    #[cfg(feature = "ros2")]
    SimNode(RosArgs),
}

/// ROS arguments, read by rcl itself (`--ros-args -p name:=value -r from:=to ...`).
#[cfg(feature = "ros2")]
#[derive(Debug, Args)]
pub struct RosArgs {
    /// Everything after the subcommand, passed to rcl.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
    pub ros_args: Vec<String>,
}

/// Arguments of `models`.
#[derive(Debug, Args)]
pub struct ModelsArgs {
    /// Models folder with manifest.yaml [default: the checkout's models/, or $PILOTNET_MODELS].
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Check every shipped file against its sha256, size and description.
    #[arg(long)]
    pub verify: bool,
}

/// Arguments of `dataset`.
#[derive(Debug, Args)]
pub struct DatasetArgs {
    /// Circuits, comma-separated: built-in names or CSV paths.
    #[arg(long, value_delimiter = ',', required = true)]
    pub circuits: Vec<String>,
    /// Frames in all, shared evenly among circuits and directions.
    #[arg(long)]
    pub frames: usize,
    /// Output folder (images/, full/, labels.csv, collect.json).
    #[arg(long)]
    pub out: PathBuf,
    /// Drive each circuit only in its own direction (default: both).
    #[arg(long)]
    pub one_direction: bool,
    /// Seed of every random choice.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Mean command disturbances started per simulated second (0 = none).
    #[arg(long, default_value_t = Perturbation::default().rate_hz)]
    pub perturb_rate: f64,
    /// Largest added yaw rate of a disturbance, rad/s.
    #[arg(long, default_value_t = Perturbation::default().yaw_rate.1)]
    pub perturb_max_yaw_rate: f64,
    /// Keep the nominal look in every run (no light, tint, noise or texture variation).
    #[arg(long)]
    pub plain: bool,
    /// Keep every n-th whole camera frame for people to look at (0 = none).
    #[arg(long, default_value_t = 500)]
    pub full_every: usize,
    /// Cut images for this model description's input (default: Behavior Metrics' PilotNet:
    /// rows 240-480 of 640x480, resized to 200x66).
    #[arg(long)]
    pub description: Option<PathBuf>,
    /// Road width, metres.
    #[arg(long, default_value_t = RoadGeometry::default().road_width)]
    pub road_width: f64,
}

/// Inference settings shared by `sim` and `bench`.
#[derive(Debug, Args)]
pub struct BackendArgs {
    /// Inference engine: ort (ONNX Runtime) or tch (libtorch) [default: from the model file:
    /// .onnx → ort, .pt → tch].
    #[arg(long)]
    pub backend: Option<BackendKind>,
    /// Device: cpu, cuda[:N] or tensorrt[:N].
    #[arg(long, default_value = "cpu")]
    pub device: Device,
    /// Intra-op threads of the engine.
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// ONNX Runtime graph optimisation: disable, basic, extended, layout or all.
    #[arg(long, default_value = "all")]
    pub graph_optimization: GraphOptimization,
    /// TensorRT precision: fp32, fp16 or int8.
    #[arg(long, default_value = "fp32")]
    pub trt_precision: TensorRtPrecision,
    /// TensorRT INT8 calibration table.
    #[arg(long)]
    pub trt_calibration_table: Option<PathBuf>,
    /// Folder where TensorRT caches built engines.
    #[arg(long)]
    pub trt_engine_cache: Option<PathBuf>,
}

impl BackendArgs {
    /// The library's backend settings.
    pub fn to_config(&self) -> Result<BackendConfig, String> {
        if self.threads == 0 {
            return Err("--threads must be at least 1".into());
        }
        let trt_flags = self.trt_precision != TensorRtPrecision::Fp32
            || self.trt_calibration_table.is_some()
            || self.trt_engine_cache.is_some();
        if trt_flags && !matches!(self.device, Device::TensorRt(_)) {
            return Err(format!(
                "--trt-* options need --device tensorrt (device is {})",
                self.device
            ));
        }
        Ok(BackendConfig {
            kind: self.backend,
            device: self.device,
            threads: self.threads,
            optimization: self.graph_optimization,
            tensorrt: TensorRtConfig {
                precision: self.trt_precision,
                calibration_table: self.trt_calibration_table.clone(),
                engine_cache: self.trt_engine_cache.clone(),
            },
        })
    }
}

/// Arguments of `bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Model file (.onnx, .pt), its description (.yaml), or a shipped variant's name.
    #[arg(long)]
    pub model: PathBuf,
    /// Inference settings.
    #[command(flatten)]
    pub backend: BackendArgs,
    /// Timed iterations.
    #[arg(long, default_value_t = 1000)]
    pub frames: usize,
    /// Untimed iterations first.
    #[arg(long, default_value_t = 50)]
    pub warmup: usize,
    /// Labelled dataset folder (labels.csv + images) for the test-set MSE.
    #[arg(long)]
    pub dataset: Option<PathBuf>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

impl BenchArgs {
    /// The library's benchmark settings.
    pub fn to_config(&self) -> BenchConfig {
        BenchConfig {
            frames: self.frames,
            warmup: self.warmup,
            dataset: self.dataset.clone(),
        }
    }
}

/// Who drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PilotChoice {
    /// Image-processing expert: follows the red line (labels training data).
    Expert,
    /// A neural network (--model).
    Model,
}

/// Arguments of `sim`.
#[derive(Debug, Args)]
pub struct SimArgs {
    /// Built-in circuit name (see `pilotnet-brain circuits`) or path to a CSV file with a
    /// header `x,y` and one point per row in metres.
    #[arg(long, default_value = "lakeside")]
    pub circuit: String,
    /// Who drives [default: model with --model, else expert].
    #[arg(long, value_enum)]
    pub pilot: Option<PilotChoice>,
    /// Network to drive with: model file (.onnx, .pt), its description (.yaml), or the name of
    /// a shipped variant (`fp32`, `static_int8`, ...; see `pilotnet-brain models`).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Inference settings.
    #[command(flatten)]
    pub backend: BackendArgs,
    /// Laps to drive.
    #[arg(long, default_value_t = 1)]
    pub laps: u32,
    /// Drive the circuit the other way round.
    #[arg(long)]
    pub reverse: bool,
    /// Simulated-time limit in seconds [default: 60 + 1 s per 3 m of the laps asked for].
    #[arg(long)]
    pub timeout: Option<f64>,
    /// Write stats.json, trajectory.csv and path.png into this folder.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print one JSON object on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Save camera frames the pilot processed as PNG into this folder.
    #[arg(long)]
    pub save_frames: Option<PathBuf>,
    /// With --save-frames: keep every n-th frame.
    #[arg(long, default_value_t = 1)]
    pub save_every: u32,
    /// Brain latency: `none` (the world waits for the brain), `measured` (commands apply
    /// after the pilot's measured compute time; frames arriving meanwhile are dropped), or a
    /// fixed number of milliseconds.
    #[arg(long, default_value = "none", value_parser = parse_latency)]
    pub latency: Latency,
    /// Camera frame rate, Hz.
    #[arg(long, default_value_t = 20.0)]
    pub camera_hz: f64,
    /// Physics step, seconds.
    #[arg(long, default_value_t = 0.001)]
    pub physics_dt: f64,
    /// Road width, metres.
    #[arg(long, default_value_t = RoadGeometry::default().road_width)]
    pub road_width: f64,
    /// Light level of the rendered scene (1 = nominal).
    #[arg(long, default_value_t = 1.0)]
    pub brightness: f32,
    /// Per-pixel sensor noise amplitude (0–255 units).
    #[arg(long, default_value_t = 0.0)]
    pub noise: f32,
    /// World-anchored ground texture amplitude (0–255 units).
    #[arg(long, default_value_t = 0.0)]
    pub texture: f32,
    /// Seed of noise and texture.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Highest forward speed the vehicle accepts, m/s.
    #[arg(long, default_value_t = CommandLimits::default().v_max)]
    pub max_v: f64,
    /// Highest yaw rate magnitude the vehicle accepts, rad/s.
    #[arg(long, default_value_t = CommandLimits::default().w_max)]
    pub max_w: f64,
}

fn parse_latency(s: &str) -> Result<Latency, String> {
    match s {
        "none" | "0" => Ok(Latency::None),
        "measured" => Ok(Latency::Measured),
        ms => ms
            .trim_end_matches("ms")
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .map(|v| Latency::Fixed(v / 1e3))
            .ok_or_else(|| format!("'{s}' is not 'none', 'measured' or a number of milliseconds")),
    }
}

impl SimArgs {
    /// Who drives, and with which model.
    pub fn pilot(&self) -> Result<(PilotChoice, Option<&PathBuf>), String> {
        match (self.pilot, &self.model) {
            (None | Some(PilotChoice::Model), Some(m)) => Ok((PilotChoice::Model, Some(m))),
            (Some(PilotChoice::Model), None) => Err("--pilot model needs --model PATH".into()),
            (None | Some(PilotChoice::Expert), None) => Ok((PilotChoice::Expert, None)),
            (Some(PilotChoice::Expert), Some(_)) => {
                Err("--model drives with the network; drop it or --pilot expert".into())
            }
        }
    }

    /// Road geometry from the flags.
    pub fn road(&self) -> RoadGeometry {
        RoadGeometry {
            road_width: self.road_width,
            ..RoadGeometry::default()
        }
    }

    /// Simulator settings from the flags, for a circuit of `lap_length` metres.
    pub fn to_config(&self, lap_length: f64) -> SimConfig {
        let defaults = SimConfig::default();
        SimConfig {
            laps: self.laps,
            timeout_s: self
                .timeout
                .unwrap_or(60.0 + lap_length * self.laps as f64 / 3.0),
            physics_dt: self.physics_dt,
            camera: CameraConfig {
                rate_hz: self.camera_hz,
                ..CameraConfig::default()
            },
            appearance: Appearance {
                brightness: self.brightness,
                noise: self.noise,
                texture: self.texture,
                seed: self.seed,
                ..Appearance::default()
            },
            latency: self.latency,
            limits: CommandLimits {
                v_max: self.max_v,
                w_max: self.max_w,
                ..CommandLimits::default()
            },
            save_frames: self.save_frames.clone().map(|d| (d, self.save_every)),
            ..defaults
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_values() {
        assert_eq!(parse_latency("none"), Ok(Latency::None));
        assert_eq!(parse_latency("measured"), Ok(Latency::Measured));
        assert_eq!(parse_latency("25"), Ok(Latency::Fixed(0.025)));
        assert_eq!(parse_latency("40ms"), Ok(Latency::Fixed(0.04)));
        assert!(parse_latency("-3").is_err());
        assert!(parse_latency("soon").is_err());
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
