//! Command-line interface: every flag is defined here and turned into the library's settings
//! structs, whose defaults are the flags' defaults and whose validation checks them; a setting
//! out of range is reported by its flag ([`flag_error`]).

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use pilotnet_brain::base::camera::CameraConfig;
use pilotnet_brain::base::control::CommandLimits;
use pilotnet_brain::base::geometry::Pose2;
use pilotnet_brain::base::settings::{within, InvalidSetting};
use pilotnet_brain::driving::brain::{BrainConfig, Latency};
use pilotnet_brain::evaluation::circuit::{lap_file, RoadGeometry};
use pilotnet_brain::evaluation::laps;
use pilotnet_brain::inference::backend::{
    BackendConfig, BackendKind, Device, GraphOptimization, TensorRtConfig, TensorRtPrecision,
};
use pilotnet_brain::sim::gazebo::Light;
use pilotnet_brain::sim::looks;
use pilotnet_brain::sim::render::Appearance;
use pilotnet_brain::sim::world::WorldConfig;
use pilotnet_brain::sim::{Look, SimConfig, Spawn, Track};
use pilotnet_brain::tools::bench::BenchConfig;
use pilotnet_brain::tools::dataset::Perturbation;
use pilotnet_brain::tools::experiment::Shard;

/// A setting out of range, named by its flag: the library names settings by their field
/// (`v_max`), the command line spells the same name as a flag (`--v-max`).
pub fn flag_error(e: InvalidSetting) -> anyhow::Error {
    anyhow::anyhow!("--{}: {}", e.name.replace('_', "-"), e.problem)
}

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
    Sim(Box<SimArgs>),
    /// List the built-in circuits.
    Circuits,
    /// Measure a model offline: size, preprocessing and inference time, dataset MSE.
    Bench(BenchArgs),
    /// Record a training dataset: the expert drives, frames are stored as the network sees them.
    Dataset(DatasetArgs),
    /// List the model variants of the catalogue (models/manifest.yaml), optionally verified.
    Models(ModelsArgs),
    /// Run an experiment file: models × circuits × directions × conditions × repetitions,
    /// in parallel and resumably, then its tables, figures and index.html.
    Experiment(ExperimentArgs),
    /// Score a recorded run (a rosbag2 bag, MCAP or SQLite3, or a ROS 1 bag) against a
    /// reference lap, as a simulated run is scored.
    Metrics(MetricsArgs),
    /// Answer camera pictures (PNG or JPEG files, or folders of them) with a network's and
    /// the expert's (v, w).
    Predict(PredictArgs),
    /// Compare a real camera image with the simulator's picture of the same place: region
    /// colours, the red line's geometry, the two side by side.
    Compare(CompareArgs),
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

/// Which way a recording drove its reference lap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Direction {
    /// Found from the drive: the way the car has gone once it is 5 m along the line.
    Auto,
    /// The reference's own order.
    Forward,
    /// Against it.
    Reverse,
}

impl From<Direction> for laps::Direction {
    fn from(d: Direction) -> Self {
        match d {
            Direction::Auto => laps::Direction::Auto,
            Direction::Forward => laps::Direction::Forward,
            Direction::Reverse => laps::Direction::Reverse,
        }
    }
}

/// Arguments of `metrics`.
#[derive(Debug, Args)]
pub struct MetricsArgs {
    /// The bag: a rosbag2 folder (with metadata.yaml), or one .mcap or .db3 file.
    pub bag: PathBuf,
    /// The reference lap: a built-in circuit, an `x,y` CSV, Behavior Metrics' odometry CSV
    /// export or perfect-lap ROS 1 bag, or a Gazebo world (its red line).
    #[arg(long)]
    pub reference: String,
    /// Odometry topic (nav_msgs/msg/Odometry) [default: the bag's only one, or /odom].
    #[arg(long)]
    pub odom: Option<String>,
    /// Clock topic (rosgraph_msgs/msg/Clock) [default: /clock or the only one, if any].
    #[arg(long)]
    pub clock: Option<String>,
    /// Velocity command topic (geometry_msgs/msg/Twist or TwistStamped) [default: the only
    /// one, or /cmd_vel, if any].
    #[arg(long)]
    pub cmd: Option<String>,
    /// Which way the recording drove the reference.
    #[arg(long, value_enum, default_value_t = Direction::Auto)]
    pub direction: Direction,
    /// Score up to this many laps [default: every lap the recording holds].
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub laps: Option<u32>,
    /// Road width, metres: farther than half of it from the line is off the road.
    #[arg(long, allow_negative_numbers = true, default_value_t = RoadGeometry::behavior_metrics().road_width)]
    pub road_width: f64,
    /// Write stats.json, bm_stats.json, trajectory.csv, reference.csv and path.png here.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print one JSON object on stdout instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// Pictures: PNG or JPEG files, or folders (their pictures in name order).
    #[arg(required = true)]
    pub images: Vec<PathBuf>,
    /// Network to answer with: model file, description, or a shipped variant's name.
    #[arg(long, default_value = DEFAULT_MODEL)]
    pub model: PathBuf,
    /// The expert alone, no network.
    #[arg(long, conflicts_with = "model")]
    pub expert_only: bool,
    /// The Gazebo world the pictures were taken in: the expert reads them through the camera
    /// of the car it includes (the old `f1`'s is 0.144 m high), else Behavior Metrics' F1
    /// camera.
    #[arg(long)]
    pub world: Option<PathBuf>,
    /// Inference settings.
    #[command(flatten)]
    pub backend: BackendArgs,
    /// Print one JSON object per picture instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The camera image (640x480 PNG or JPEG).
    pub image: PathBuf,
    /// The world the image was taken in: a Gazebo world (`.world`, `model.sdf`), or a
    /// circuit (built-in, CSV) in Behavior Metrics' look.
    #[arg(long)]
    pub world: String,
    /// A Gazebo world file's light: `world` (Gazebo's, from the file), `sun` (Gazebo's with
    /// no ambient term) or `first` (the look this project calibrated first).
    #[arg(long, default_value_t = Light::World)]
    pub light: Light,
    /// Where the camera's car stood, `X,Y,YAW` [default: searched along the circuit for the
    /// pose whose picture puts the red line where the image has it].
    #[arg(long, value_name = "X,Y,YAW", value_parser = Spawn::parse_pose, allow_hyphen_values = true)]
    pub pose: Option<Pose2>,
    /// Write the image and the rendered picture side by side to this PNG.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `experiment`.
#[derive(Debug, Args)]
pub struct ExperimentArgs {
    /// The experiment file (YAML; see docs/experiments.md). Not needed with --collect.
    #[arg(required_unless_present = "collect")]
    pub file: Option<PathBuf>,
    /// The experiment's folder: experiment.json, cells/<cell>/, report/ [default:
    /// runs/<name>; with --collect, required].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Write the report (tables.md, results.csv, figures/, index.html) here [default:
    /// <out>/report].
    #[arg(long)]
    pub report: Option<PathBuf>,
    /// Parallel workers [default: one per core].
    #[arg(long)]
    pub workers: Option<usize>,
    /// Run only slice I of N of the cells (1 <= I <= N); merge the slices with --collect.
    #[arg(long, conflicts_with = "collect")]
    pub shard: Option<Shard>,
    /// Merge these experiment folders (shards of one experiment) into --out and report them.
    #[arg(long, num_args = 1.., conflicts_with = "file")]
    pub collect: Vec<PathBuf>,
    /// Do not draw a progress bar (a line per cell instead).
    #[arg(long)]
    pub no_progress: bool,
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
    #[arg(long, allow_negative_numbers = true, default_value_t = Perturbation::default().rate_hz)]
    pub perturb_rate: f64,
    /// Largest added yaw rate of a disturbance, rad/s.
    #[arg(long, allow_negative_numbers = true, default_value_t = Perturbation::default().yaw_rate.1)]
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
    /// Road width, metres [default: the look's: 3 for gazebo, 6 for classic].
    #[arg(long, allow_negative_numbers = true)]
    pub road_width: Option<f64>,
    /// How the world looks: gazebo (Behavior Metrics' Gazebo world and F1 camera) or classic.
    #[arg(long, default_value_t = Look::default())]
    pub look: Look,
    /// Draw looks across the range of Gazebo's real camera frames (light, line and wall
    /// colours, sky, ground, camera height, pitch and roll, exposure, noise, JPEG), a new one
    /// every --look-every seconds; each is a row of looks.csv.
    #[arg(long)]
    pub looks: bool,
    /// Simulated seconds between drawn looks.
    #[arg(long, default_value_t = 5.0)]
    pub look_every: f64,
    /// Narrow the drawn looks' ambient light to LO,HI (0-1; default 0-1): 0 is the sun alone,
    /// as `sim --light sun` draws it, 1 SimpleCircuit's own light.
    #[arg(long, value_name = "LO,HI", requires = "looks", value_parser = looks::parse_unit_range)]
    pub looks_ambient: Option<(f32, f32)>,
    /// Narrow the drawn looks' texture lighting to LO,HI (0.5-1 in the default range: 0.5 the
    /// first look's, 1 Gazebo's own).
    #[arg(long, value_name = "LO,HI", requires = "looks", value_parser = looks::parse_unit_range)]
    pub looks_texture: Option<(f32, f32)>,
    /// On-policy data: this network (model file or description, trim included) drives on the
    /// stored frames while the expert labels each of them (the DAgger scheme).
    #[arg(long)]
    pub driver: Option<PathBuf>,
    /// Inference engine of --driver: ort, tract or tch [default: from the model file].
    #[arg(long, requires = "driver")]
    pub driver_backend: Option<BackendKind>,
}

/// Inference settings shared by `sim` and `bench`.
#[derive(Debug, Args)]
pub struct BackendArgs {
    /// Inference engine: ort (ONNX Runtime), tract (pure Rust, compiled in) or tch (libtorch)
    /// [default: from the model file: .onnx → ort where its library is installed, else tract;
    /// .pt → tch].
    #[arg(long)]
    pub backend: Option<BackendKind>,
    /// Device: cpu, cuda[:N] or tensorrt[:N].
    #[arg(long, default_value = "cpu")]
    pub device: Device,
    /// Intra-op threads of the engine (1 to 256).
    #[arg(long, default_value_t = BackendConfig::default().threads)]
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
    /// The library's backend settings, validated.
    pub fn to_config(&self) -> anyhow::Result<BackendConfig> {
        let config = BackendConfig {
            kind: self.backend,
            device: self.device,
            threads: self.threads,
            optimization: self.graph_optimization,
            tensorrt: TensorRtConfig {
                precision: self.trt_precision,
                calibration_table: self.trt_calibration_table.clone(),
                engine_cache: self.trt_engine_cache.clone(),
            },
        };
        config.validate().map_err(flag_error)?;
        Ok(config)
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
    #[arg(long, default_value_t = BenchConfig::default().frames)]
    pub frames: usize,
    /// Untimed iterations first.
    #[arg(long, default_value_t = BenchConfig::default().warmup)]
    pub warmup: usize,
    /// Labelled dataset folder for the test-set MSE: labels.csv + images (`pilotnet-brain
    /// dataset`) or DeepLearningStudio's data.csv + numbered frames.
    #[arg(long)]
    pub dataset: Option<PathBuf>,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
}

impl BenchArgs {
    /// The library's benchmark settings, validated.
    pub fn to_config(&self) -> anyhow::Result<BenchConfig> {
        let config = BenchConfig {
            frames: self.frames,
            warmup: self.warmup,
            dataset: self.dataset.clone(),
        };
        config.validate().map_err(flag_error)?;
        Ok(config)
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

/// The shipped variant `sim` drives with when no model is named.
pub const DEFAULT_MODEL: &str = "fp32";

/// Arguments of `sim`.
#[derive(Debug, Args)]
pub struct SimArgs {
    /// Built-in circuit name (see `pilotnet-brain circuits`), a CSV file with a header `x,y`
    /// and one point per row in metres, or a Gazebo world (as --world).
    #[arg(long, default_value = "lakeside")]
    pub circuit: String,
    /// A Gazebo world to drive instead of --circuit: a circuit's model.sdf (with its COLLADA
    /// meshes and textures) or a .world including one; its red line is the centre line.
    #[arg(long)]
    pub world: Option<PathBuf>,
    /// How the world looks: gazebo (Behavior Metrics' Gazebo world and F1 camera) or classic
    /// (this project's first look and camera); a --world is always gazebo.
    #[arg(long, default_value_t = Look::default())]
    pub look: Look,
    /// A Gazebo world file's light: `first` (the look this project calibrated first: no
    /// ambient light, textures at half), `world` (Gazebo's, from the world's
    /// `<scene><ambient>`, as its camera frames show it) or `sun` (Gazebo's with no ambient
    /// term, the sun alone). The shipped networks were trained across all three and more.
    #[arg(long, default_value_t = Light::First)]
    pub light: Light,
    /// Draw the line in this colour, `R,G,B` as the camera sees it (flat): a look of
    /// Gazebo's frames, from dark red 76,0,0 to salmon 255,102,102.
    #[arg(long, value_name = "R,G,B", value_parser = looks::parse_rgb)]
    pub line_rgb: Option<[u8; 3]>,
    /// Paint the walls (every vertical face) this diffuse colour, lit by the world's light:
    /// white, grey, dark grey, black, teal, or `R,G,B`.
    #[arg(long, value_name = "COLOUR", value_parser = looks::parse_wall)]
    pub wall: Option<[f32; 3]>,
    /// Camera height above the ground, metres [default: the car's camera's: 0.10 for the
    /// F1, 0.144 for the pre-2021 car].
    #[arg(long)]
    pub camera_height: Option<f64>,
    /// Who drives [default: model].
    #[arg(long, value_enum)]
    pub pilot: Option<PilotChoice>,
    /// Network to drive with: model file (.onnx, .pt), its description (.yaml), or the name of
    /// a shipped variant (`fp32`, `static_int8`, ...; see `pilotnet-brain models`)
    /// [default: fp32, the shipped network].
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Inference settings.
    #[command(flatten)]
    pub backend: BackendArgs,
    /// Laps to drive.
    #[arg(long, default_value_t = SimConfig::default().laps)]
    pub laps: u32,
    /// Drive the circuit the other way round.
    #[arg(long)]
    pub reverse: bool,
    /// Put the car at this pose to start, in the world frame: `X,Y,YAW` (metres, radians),
    /// as Gazebo's spawn takes it [default: a world's own spawn pose (turned round with
    /// --reverse), else the line's first point]. The lap is counted from wherever the car
    /// starts.
    #[arg(long, value_name = "X,Y,YAW", value_parser = Spawn::parse_pose, allow_hyphen_values = true, conflicts_with_all = ["start_at", "start_left"])]
    pub start_pose: Option<Pose2>,
    /// Put the car on the line this many metres from its first point, in the driving
    /// direction, facing along it.
    #[arg(long, value_name = "METRES", allow_negative_numbers = true)]
    pub start_at: Option<f64>,
    /// With --start-at: this many metres to the left of the line (negative: right).
    #[arg(
        long,
        value_name = "METRES",
        allow_negative_numbers = true,
        requires = "start_at"
    )]
    pub start_left: Option<f64>,
    /// The reference lap Behavior Metrics' scores are measured against (an `x,y` CSV, its
    /// odometry CSV export or perfect-lap ROS 1 bag), walked in the driving direction
    /// [default: the points of the circuit's own line]. This project's own deviation and
    /// completion stay measured against the circuit's line.
    #[arg(long)]
    pub reference: Option<PathBuf>,
    /// Simulated-time limit in seconds [default: 60 + 1 s per 3 m of the laps asked for].
    #[arg(long, allow_negative_numbers = true)]
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
    /// after the pilot's measured compute time; frames arriving meanwhile are dropped),
    /// `measured*F` (F times the measured time: a slower target emulated here, e.g.
    /// 'measured*20'), or a fixed number of milliseconds.
    #[arg(long, default_value_t = BrainConfig::default().latency)]
    pub latency: Latency,
    /// No camera frame for this long → the brain commands a stop, milliseconds.
    #[arg(long, allow_negative_numbers = true, default_value_t = BrainConfig::default().stall_timeout.as_secs_f64() * 1e3)]
    pub stall_timeout_ms: f64,
    /// Camera frame rate, Hz (default: the camera's own, 20 Hz for Behavior Metrics' cars).
    #[arg(long, allow_negative_numbers = true)]
    pub camera_hz: Option<f64>,
    /// Odometry rate, Hz.
    #[arg(long, allow_negative_numbers = true, default_value_t = WorldConfig::default().odometry_hz)]
    pub odometry_hz: f64,
    /// Physics step, seconds.
    #[arg(long, allow_negative_numbers = true, default_value_t = WorldConfig::default().physics_dt)]
    pub physics_dt: f64,
    /// Road width, metres [default: the look's: 3 for gazebo, 6 for classic; a world's own].
    #[arg(long, allow_negative_numbers = true)]
    pub road_width: Option<f64>,
    /// Light level of the rendered scene (1 = nominal).
    #[arg(long, allow_negative_numbers = true, default_value_t = Appearance::default().brightness)]
    pub brightness: f32,
    /// Per-pixel sensor noise amplitude (0–255 units).
    #[arg(long, allow_negative_numbers = true, default_value_t = Appearance::default().noise)]
    pub noise: f32,
    /// World-anchored ground texture amplitude (0–255 units).
    #[arg(long, allow_negative_numbers = true, default_value_t = Appearance::default().texture)]
    pub texture: f32,
    /// Seed of noise and texture.
    #[arg(long, default_value_t = Appearance::default().seed)]
    pub seed: u64,
    /// Highest forward speed sent to the vehicle, m/s.
    #[arg(long, allow_negative_numbers = true, alias = "max-v", default_value_t = CommandLimits::default().v_max)]
    pub v_max: f64,
    /// Highest yaw-rate magnitude sent to the vehicle, rad/s.
    #[arg(long, allow_negative_numbers = true, alias = "max-w", default_value_t = CommandLimits::default().w_max)]
    pub w_max: f64,
    /// Highest rate of change of v, m/s² (0: no limit).
    #[arg(long, allow_negative_numbers = true, default_value_t = CommandLimits::default().dv_max)]
    pub dv_max: f64,
    /// Highest rate of change of w, rad/s² (0: no limit).
    #[arg(long, allow_negative_numbers = true, default_value_t = CommandLimits::default().dw_max)]
    pub dw_max: f64,
}

impl SimArgs {
    /// Who drives, and with which model: the shipped fp32 network unless told otherwise.
    pub fn pilot(&self) -> Result<(PilotChoice, Option<PathBuf>), String> {
        match (self.pilot, &self.model) {
            (None | Some(PilotChoice::Model), Some(m)) => Ok((PilotChoice::Model, Some(m.clone()))),
            (None | Some(PilotChoice::Model), None) => {
                Ok((PilotChoice::Model, Some(PathBuf::from(DEFAULT_MODEL))))
            }
            (Some(PilotChoice::Expert), None) => Ok((PilotChoice::Expert, None)),
            (Some(PilotChoice::Expert), Some(_)) => {
                Err("--model drives with the network; drop it or --pilot expert".into())
            }
        }
    }

    /// Where the car starts, from the flags.
    pub fn spawn(&self) -> Spawn {
        match (self.start_pose, self.start_at) {
            (Some(pose), _) => Spawn::Pose(pose),
            (None, Some(along)) => Spawn::OnLine {
                along,
                left: self.start_left.unwrap_or(0.0),
            },
            (None, None) => Spawn::Track,
        }
    }

    /// Road geometry from the flags, where they set one.
    pub fn road(&self) -> Option<RoadGeometry> {
        self.road_width.map(|road_width| RoadGeometry {
            road_width,
            ..self.look.road()
        })
    }

    /// The track from the flags.
    pub fn track(&self) -> anyhow::Result<Track> {
        if let Some(r) = self.road() {
            r.validate().map_err(flag_error)?;
        }
        let mut track = match &self.world {
            Some(world) => Track::world_in(world, self.reverse, self.light)?,
            None => Track::open_in(
                &self.circuit,
                self.road(),
                self.reverse,
                self.look,
                self.light,
            )?,
        };
        if let Some(lap) = &self.reference {
            track.circuit.set_reference_points(lap_file::read(lap)?);
        }
        if self.line_rgb.is_some() || self.wall.is_some() {
            track = track.restyled(&looks::SceneLook {
                lighting: None,
                line: self.line_rgb,
                wall: self.wall,
                ground_gain: 1.0,
                sky: None,
            });
        }
        if let Some(height) = self.camera_height {
            within("camera_height", height, 0.05, 10.0).map_err(flag_error)?;
            let mut camera = track.camera();
            camera.mount.height = height;
            track.camera = Some(camera);
        }
        Ok(track)
    }

    /// Simulator settings from the flags, for a circuit of `lap_length` metres seen through
    /// `camera` (the track's), validated.
    pub fn to_config(&self, lap_length: f64, camera: CameraConfig) -> anyhow::Result<SimConfig> {
        let config = SimConfig {
            laps: self.laps,
            timeout_s: self
                .timeout
                .unwrap_or(60.0 + lap_length * self.laps as f64 / 3.0),
            world: WorldConfig {
                physics_dt: self.physics_dt,
                odometry_hz: self.odometry_hz,
                camera: CameraConfig {
                    rate_hz: self.camera_hz.unwrap_or(camera.rate_hz),
                    ..camera
                },
                appearance: Appearance {
                    brightness: self.brightness,
                    noise: self.noise,
                    texture: self.texture,
                    seed: self.seed,
                    ..Appearance::default()
                },
                spawn: self.spawn(),
            },
            brain: BrainConfig {
                stall_timeout: BrainConfig::stall_timeout_from_ms(self.stall_timeout_ms)
                    .map_err(flag_error)?,
                latency: self.latency,
            },
            limits: CommandLimits {
                v_max: self.v_max,
                w_max: self.w_max,
                dv_max: self.dv_max,
                dw_max: self.dw_max,
                ..CommandLimits::default()
            },
            save_frames: self.save_frames.clone().map(|d| (d, self.save_every)),
        };
        config.validate().map_err(flag_error)?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_errors_name_the_flag() {
        let e = flag_error(InvalidSetting::new("stall_timeout_ms", "0 is not positive"));
        assert_eq!(e.to_string(), "--stall-timeout-ms: 0 is not positive");
    }

    #[test]
    fn cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
