//! Dataset collection: the expert drives the simulated world and every camera frame is stored
//! as the network will see it, with the expert's command as its label. The recorder is a
//! driver of the [`World`]: it watches the camera and odometry, asks the expert, writes the
//! frame and its label, and sends the (sometimes disturbed) command to the car.
//!
//! Recovery data: now and then the command sent to the car is perturbed (an added yaw rate
//! for a fraction of a second) while the label stays the expert's own answer to the frame, so
//! the car drifts off the line and the labels show how to come back. Appearance varies from
//! run to run (light level, white balance, sensor noise, ground texture). With looks
//! ([`LookRange`]) the scene itself is restyled every few seconds of driving — light, line and
//! wall colours, sky, ground, the camera's height, pitch and roll — and the stored frames go
//! through exposure, noise and JPEG; the expert drives on the restyled picture before the
//! camera's and transport's effects, through the moved camera, so its labels are as before.
//! Everything is drawn from one seed: the same settings give the same dataset.
//!
//! On-policy data ([`CollectConfig::driver`], the DAgger scheme): a network drives instead
//! of the expert, on the frames as stored (the camera's and transport's effects included), and
//! the expert still labels every frame. The car then goes where that network's own errors take
//! it — the offsets it holds in bends, the drift it never recovers from — and the labels say
//! what the expert would have done there, which is the data a network trained on the expert's
//! own laps never sees.

use std::io::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use thiserror::Error;

use super::LABEL_COLUMNS;
use crate::base::camera::CameraConfig;
use crate::base::control::{Command, CommandLimits, Limiter};
use crate::base::geometry::ClosedPolyline;
use crate::base::sensor::{Frame, Odometry};
use crate::base::settings::{within, InvalidSetting};
use crate::driving::pilot::{ExpertConfig, ExpertPilot, NetworkPilot, Pilot, PilotError};
use crate::evaluation::circuit::RoadGeometry;
use crate::evaluation::laps::{Direction, EndReason, LapRecorder};
use crate::inference::backend::BackendConfig;
use crate::inference::model::InputSpec;
use crate::inference::preprocess::Preprocessor;
use crate::sim::looks::{DrawnLook, LookRange};
use crate::sim::raster::Raster;
use crate::sim::render::Appearance;
use crate::sim::scene::Scene;
use crate::sim::track::{Look, Scenery, Track, TrackError};
use crate::sim::world::{Driver, Sensors, World, WorldConfig};

/// Why collection failed.
#[derive(Debug, Error)]
pub enum CollectError {
    /// A circuit could not be loaded.
    #[error(transparent)]
    Circuit(#[from] TrackError),
    /// A setting is out of range.
    #[error("dataset setting {0}")]
    Setting(#[from] InvalidSetting),
    /// The expert could not drive on a frame.
    #[error("the expert failed on frame {seq}: {source}")]
    Pilot {
        /// The frame.
        seq: u64,
        /// Why.
        source: PilotError,
    },
    /// A file could not be written.
    #[error("cannot write {path}: {reason}")]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The expert leaves the road at once, run after run.
    #[error(
        "the expert cannot make progress on {circuit} ({direction}): three runs stored no frame"
    )]
    NoProgress {
        /// The circuit.
        circuit: String,
        /// Its direction.
        direction: &'static str,
    },
    /// The driving network could not be opened.
    #[error("cannot open the driving network {}: {reason}", model.display())]
    Driver {
        /// The model file or description.
        model: PathBuf,
        /// Why.
        reason: String,
    },
    /// The driving network failed on a frame (NaN output, backend error).
    #[error("the driving network failed on frame {seq}: {source}")]
    DriverFailed {
        /// The frame.
        seq: u64,
        /// Why.
        source: PilotError,
    },
    /// A frame could not be cut to the network's input.
    #[error("frame cannot be cut: {0}")]
    Cut(String),
    /// The drawn look's camera effects could not be applied to a frame (its JPEG round trip).
    #[error("frame {seq}: cannot apply the drawn look: {reason}")]
    Look {
        /// The frame.
        seq: u64,
        /// Why.
        reason: String,
    },
}

/// A network that drives while the expert labels (on-policy data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DriverSetup {
    /// The model file or its description.
    pub model: PathBuf,
    /// How it runs.
    pub backend: BackendConfig,
}

/// How often and how hard the expert's commands are disturbed.
#[derive(Debug, Clone, PartialEq)]
pub struct Perturbation {
    /// Mean number of disturbances started per simulated second.
    pub rate_hz: f64,
    /// Duration range, seconds.
    pub duration_s: (f64, f64),
    /// Range of the added yaw rate's magnitude, rad/s (the sign is random).
    pub yaw_rate: (f64, f64),
}

impl Default for Perturbation {
    fn default() -> Self {
        Perturbation {
            rate_hz: 0.25,
            duration_s: (0.3, 0.9),
            yaw_rate: (0.4, 1.6),
        }
    }
}

/// Ranges the appearance of each run is drawn from.
#[derive(Debug, Clone, PartialEq)]
pub struct AppearanceRange {
    /// Light level.
    pub brightness: (f32, f32),
    /// Per-channel gain deviation from 1 (white balance), at most this much.
    pub tint: f32,
    /// Sensor noise amplitude, 0–255 units.
    pub noise: (f32, f32),
    /// Ground texture amplitude, 0–255 units.
    pub texture: (f32, f32),
}

impl Default for AppearanceRange {
    fn default() -> Self {
        AppearanceRange {
            brightness: (0.65, 1.3),
            tint: 0.08,
            noise: (0.0, 8.0),
            texture: (0.0, 12.0),
        }
    }
}

impl AppearanceRange {
    /// The nominal look only.
    pub fn none() -> Self {
        AppearanceRange {
            brightness: (1.0, 1.0),
            tint: 0.0,
            noise: (0.0, 0.0),
            texture: (0.0, 0.0),
        }
    }

    fn draw(&self, rng: &mut ChaCha8Rng) -> Appearance {
        let mut range = |(a, b): (f32, f32)| if b > a { rng.random_range(a..=b) } else { a };
        let brightness = range(self.brightness);
        let noise = range(self.noise);
        let texture = range(self.texture);
        let t = self.tint;
        let mut tint = [1.0f32; 3];
        if t > 0.0 {
            for g in &mut tint {
                *g = 1.0 + rng.random_range(-t..=t);
            }
        }
        Appearance {
            brightness,
            tint,
            noise,
            texture,
            seed: rng.random(),
        }
    }
}

/// What to collect.
#[derive(Debug, Clone)]
pub struct CollectConfig {
    /// Circuits: built-in names or CSV paths.
    pub circuits: Vec<String>,
    /// Drive each circuit both ways (else only its own direction).
    pub both_directions: bool,
    /// Frames in all, shared evenly among circuit/direction pairs.
    pub frames: usize,
    /// Output folder.
    pub out: PathBuf,
    /// Seed of every random choice.
    pub seed: u64,
    /// Command disturbances.
    pub perturbation: Perturbation,
    /// Appearance ranges.
    pub appearance: AppearanceRange,
    /// Keep every n-th camera frame whole (PNG, 640×480) for people to look at; 0 = none.
    pub full_frame_every: usize,
    /// The network input the stored images are cut for.
    pub input: InputSpec,
    /// How the world looks (and so which camera sees it).
    pub look: Look,
    /// Road geometry (default: the look's).
    pub road: Option<RoadGeometry>,
    /// Looks drawn across Gazebo's range, a new one every [`CollectConfig::look_every_s`];
    /// `None` keeps the track's own look (varied by [`CollectConfig::appearance`] alone).
    pub looks: Option<LookRange>,
    /// Simulated seconds between drawn looks.
    pub look_every_s: f64,
    /// A network that drives in the expert's place (the expert still labels); `None`: the
    /// expert drives.
    pub driver: Option<DriverSetup>,
}

impl Default for CollectConfig {
    fn default() -> Self {
        CollectConfig {
            circuits: vec!["lakeside".into()],
            both_directions: true,
            frames: 1000,
            out: PathBuf::from("dataset"),
            seed: 0,
            perturbation: Perturbation::default(),
            appearance: AppearanceRange::default(),
            full_frame_every: 500,
            input: InputSpec::behavior_metrics(),
            look: Look::default(),
            road: None,
            looks: None,
            look_every_s: 5.0,
            driver: None,
        }
    }
}

impl CollectConfig {
    /// Checks the settings; the error names the one that is wrong.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        if self.circuits.is_empty() {
            return Err(InvalidSetting::new("circuits", "no circuits to collect on"));
        }
        if self.frames == 0 {
            return Err(InvalidSetting::new("frames", "0 must be at least 1"));
        }
        let p = &self.perturbation;
        within("perturb_rate", p.rate_hz, 0.0, 100.0)?;
        if !(p.duration_s.0 > 0.0 && p.duration_s.0 <= p.duration_s.1) {
            return Err(InvalidSetting::new(
                "perturbation",
                format!(
                    "duration range {:?} s is not increasing and positive",
                    p.duration_s
                ),
            ));
        }
        if !(p.yaw_rate.0 >= 0.0 && p.yaw_rate.0 <= p.yaw_rate.1) {
            return Err(InvalidSetting::new(
                "perturb_max_yaw_rate",
                format!(
                    "yaw-rate range {:?} rad/s is not increasing and ≥ 0",
                    p.yaw_rate
                ),
            ));
        }
        within("perturb_max_yaw_rate", p.yaw_rate.1, 0.0, 7.1)?;
        if self.looks.is_some() {
            within("look_every", self.look_every_s, 0.05, 1e5)?;
            if self.look == Look::Classic {
                return Err(InvalidSetting::new(
                    "looks",
                    "the classic look has no scene to restyle; use the gazebo look",
                ));
            }
        }
        self.road.map_or(Ok(()), |r| r.validate())
    }
}

/// What was collected.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CollectSummary {
    /// Frames stored.
    pub frames: usize,
    /// Of which taken while the command was disturbed.
    pub perturbed_frames: usize,
    /// Simulator runs (a run ends when its share is full or the car leaves the road).
    pub runs: usize,
    /// Runs that ended off the road (the disturbances are strong enough to lose the car now
    /// and then; the frames before are kept).
    pub runs_off_road: usize,
    /// Mean absolute lateral offset from the line over the stored frames, metres.
    pub mean_abs_lateral_m: f64,
    /// Largest absolute lateral offset, metres.
    pub max_abs_lateral_m: f64,
}

/// Where the recorder writes.
struct Sink {
    dir: PathBuf,
    labels: csv::Writer<std::fs::File>,
    preprocessor: Preprocessor,
    pixels: Vec<u8>,
    full_frame_every: usize,
    count: usize,
    perturbed: usize,
    sum_abs_lateral: f64,
    max_abs_lateral: f64,
    /// `looks.csv`, where looks are drawn, and how many rows it has.
    looks: Option<csv::Writer<std::fs::File>>,
    look_count: usize,
}

/// One row of `labels.csv` (see [`super::LABEL_COLUMNS`]).
#[derive(Debug, Serialize)]
struct Row<'a> {
    image: &'a str,
    v: f64,
    w: f64,
    circuit: &'a str,
    direction: &'a str,
    run: usize,
    t: f64,
    x: f64,
    y: f64,
    yaw: f64,
    lateral_m: f64,
    perturbed: u8,
    look: Option<usize>,
}

/// One row of `looks.csv`: a drawn look, where it was used, and everything drawn.
#[derive(Debug, Serialize)]
struct LookRow<'a> {
    look: usize,
    circuit: &'a str,
    direction: &'a str,
    run: usize,
    t_start: f64,
    ambient: f32,
    texture_diffuse: f32,
    line_r: u8,
    line_g: u8,
    line_b: u8,
    line_position: f32,
    wall: &'a str,
    ground_gain: f32,
    sky_grey: Option<u8>,
    camera_height: f64,
    camera_pitch: f64,
    camera_roll: f64,
    brightness: f32,
    tint_r: f32,
    tint_g: f32,
    tint_b: f32,
    noise: f32,
    jpeg_quality: Option<u8>,
}

/// The looks of a run: a new one every `every_s` of simulated time, each with its own
/// renderer of the restyled scene and its camera.
struct Styler<'a> {
    range: &'a LookRange,
    scene: Arc<Scene>,
    camera: CameraConfig,
    rng: ChaCha8Rng,
    every_s: f64,
    next_s: f64,
    current: Option<(usize, DrawnLook, Raster)>,
    /// The stored copy of the frame, with the camera's and transport's effects.
    stored: Frame,
}

/// Where the frames of the run in progress were taken, for their labels.
struct RunLabels<'a> {
    circuit: &'a str,
    direction: &'static str,
    run: usize,
    centre: &'a ClosedPolyline,
}

/// The expert (or a network) driving the world, recorded with the expert's labels, with the
/// commands disturbed now and then.
struct Recorder<'a> {
    expert: ExpertPilot,
    driver: Option<&'a mut NetworkPilot>,
    limiter: Limiter,
    laps: LapRecorder,
    sink: &'a mut Sink,
    info: RunLabels<'a>,
    rng: ChaCha8Rng,
    perturbation: &'a Perturbation,
    frame_period: f64,
    /// How many frames the sink may hold by the end of this run.
    quota: usize,
    timeout_s: f64,
    frame: Frame,
    odometry: Option<Odometry>,
    /// Until when (frame stamp) the current disturbance lasts, and its yaw rate.
    disturbance: Option<(f64, f64)>,
    hint: usize,
    styler: Option<Styler<'a>>,
}

impl Driver for Recorder<'_> {
    type Stop = Result<EndReason, CollectError>;

    fn step(&mut self, s: Sensors<'_>) -> ControlFlow<Self::Stop, Option<Command>> {
        if let Some(odom) = s.odometry {
            self.odometry = Some(odom);
            if let Some(end) = self.laps.record(&odom) {
                return ControlFlow::Break(Ok(end));
            }
        }
        if s.t >= self.timeout_s {
            return ControlFlow::Break(Ok(EndReason::Timeout));
        }
        let Some(capture) = s.capture else {
            return ControlFlow::Continue(None);
        };
        if self.styler.is_some() {
            if let Err(e) = self.render_styled(&capture) {
                return ControlFlow::Break(Err(e));
            }
        } else {
            s.camera.render(&capture, &mut self.frame);
        }
        match self.drive() {
            Ok(cmd) => ControlFlow::Continue(Some(cmd)),
            Err(e) => ControlFlow::Break(Err(e)),
        }
    }
}

impl Recorder<'_> {
    /// Draws `capture` in the run's current look, drawing the next look when it is due.
    fn render_styled(&mut self, capture: &crate::sim::world::Capture) -> Result<(), CollectError> {
        let Some(st) = self.styler.as_mut() else {
            return Ok(());
        };
        // A look is drawn only while frames are still stored: every row of looks.csv is used.
        let due = capture.stamp >= st.next_s && self.sink.count < self.quota;
        if st.current.is_none() || due {
            let look = st.range.draw(&mut st.rng);
            let camera = look.camera(st.camera);
            let raster = Raster::new(Arc::new(look.scene.apply(&st.scene)), camera);
            self.expert.set_camera(camera);
            let index = self.sink.look_count;
            self.sink
                .write_look(index, &look, &self.info, capture.stamp)?;
            st.current = Some((index, look, raster));
            st.next_s = capture.stamp + st.every_s;
        }
        if let Some((_, _, raster)) = &st.current {
            raster.render(
                &capture.pose,
                &Appearance::default(),
                capture.seq,
                &mut self.frame,
            );
        }
        self.frame.stamp = capture.stamp;
        self.frame.seq = capture.seq;
        Ok(())
    }

    /// The expert's answer to the frame: recorded with its label, disturbed, limited.
    fn drive(&mut self) -> Result<Command, CollectError> {
        let frame = &self.frame;
        let odometry = self.odometry.as_ref();
        let command = self
            .expert
            .drive(frame, odometry)
            .map_err(|source| CollectError::Pilot {
                seq: frame.seq,
                source,
            })?;
        // The label is what the picture asks for (the expert's command where it lost the line).
        let label = self.expert.sighting().label().unwrap_or(command);
        let seq = frame.seq;
        let now = frame.stamp;
        // The camera's effects cost a JPEG round trip: only for a frame stored or driven on.
        if self.driver.is_some() || self.sink.count < self.quota {
            self.apply_look()?;
        }
        let command = match self.driver.as_deref_mut() {
            Some(driver) => {
                let seen = match &self.styler {
                    Some(st) if st.current.is_some() => &st.stored,
                    _ => &self.frame,
                };
                driver
                    .drive(seen, self.odometry.as_ref())
                    .map_err(|source| CollectError::DriverFailed { seq, source })?
            }
            None => command,
        };
        if let Some((until, _)) = self.disturbance {
            if now >= until {
                self.disturbance = None;
            }
        }
        let p = self.perturbation;
        if self.disturbance.is_none()
            && p.rate_hz > 0.0
            && self.rng.random::<f64>() < p.rate_hz * self.frame_period
        {
            let duration = self.rng.random_range(p.duration_s.0..=p.duration_s.1);
            let magnitude = self.rng.random_range(p.yaw_rate.0..=p.yaw_rate.1);
            let sign = if self.rng.random::<bool>() { 1.0 } else { -1.0 };
            self.disturbance = Some((now + duration, sign * magnitude));
        }
        let perturbed = self.disturbance.is_some();
        if self.sink.count < self.quota {
            self.record(label, perturbed)?;
        }
        let sent = match self.disturbance {
            Some((_, dw)) => Command::new(command.v, command.w + dw),
            None => command,
        };
        Ok(self.limiter.apply(sent, now).cmd)
    }

    /// The stored copy of the frame: the drawn look's camera and transport effects applied.
    fn apply_look(&mut self) -> Result<(), CollectError> {
        if let Some(st) = self.styler.as_mut() {
            if let Some((_, look, _)) = &st.current {
                st.stored.clone_from(&self.frame);
                look.frame
                    .apply(self.frame.seq, &mut st.stored)
                    .map_err(|reason| CollectError::Look {
                        seq: self.frame.seq,
                        reason,
                    })?;
            }
        }
        Ok(())
    }

    fn record(&mut self, label: Command, perturbed: bool) -> Result<(), CollectError> {
        let frame = &self.frame;
        let (x, y, yaw, lateral) = match &self.odometry {
            Some(o) => {
                let p = self.info.centre.project_near(o.pose.p, self.hint, 300);
                self.hint = p.segment;
                (o.pose.p.x, o.pose.p.y, o.pose.yaw, p.lateral)
            }
            None => (f64::NAN, f64::NAN, f64::NAN, f64::NAN),
        };
        let sink = &mut *self.sink;
        let index = sink.count;
        let name = format!("images/{index:07}.png");
        let look = match self.styler.as_mut() {
            Some(st) => match &st.current {
                Some((look_index, _, _)) => {
                    sink.write_image(&st.stored, &name, index)?;
                    Some(*look_index)
                }
                None => None,
            },
            None => {
                sink.write_image(frame, &name, index)?;
                None
            }
        };
        let row = Row {
            image: &name,
            v: label.v,
            w: label.w,
            circuit: self.info.circuit,
            direction: self.info.direction,
            run: self.info.run,
            t: frame.stamp,
            x,
            y,
            yaw,
            lateral_m: lateral,
            perturbed: perturbed as u8,
            look,
        };
        sink.labels
            .serialize(&row)
            .map_err(|e| CollectError::Write {
                path: sink.dir.join("labels.csv"),
                reason: e.to_string(),
            })?;
        sink.count += 1;
        sink.perturbed += perturbed as usize;
        if lateral.is_finite() {
            sink.sum_abs_lateral += lateral.abs();
            sink.max_abs_lateral = sink.max_abs_lateral.max(lateral.abs());
        }
        Ok(())
    }
}

impl Sink {
    fn write_look(
        &mut self,
        index: usize,
        look: &DrawnLook,
        info: &RunLabels<'_>,
        t_start: f64,
    ) -> Result<(), CollectError> {
        let Some(writer) = self.looks.as_mut() else {
            return Ok(());
        };
        let line = look.scene.line.unwrap_or([0; 3]);
        let lighting = look.scene.lighting.unwrap_or_default();
        let a = &look.frame.appearance;
        let row = LookRow {
            look: index,
            circuit: info.circuit,
            direction: info.direction,
            run: info.run,
            t_start,
            ambient: lighting.ambient[0],
            texture_diffuse: lighting.texture_diffuse,
            line_r: line[0],
            line_g: line[1],
            line_b: line[2],
            line_position: look.line_position,
            wall: look.wall_name,
            ground_gain: look.scene.ground_gain,
            sky_grey: match look.scene.sky {
                Some(crate::sim::scene::Sky::Background(rgb)) => Some(rgb[0]),
                _ => None,
            },
            camera_height: look.camera_height,
            camera_pitch: look.camera_pitch,
            camera_roll: look.camera_roll,
            brightness: a.brightness,
            tint_r: a.tint[0],
            tint_g: a.tint[1],
            tint_b: a.tint[2],
            noise: a.noise,
            jpeg_quality: look.frame.jpeg_quality,
        };
        writer.serialize(&row).map_err(|e| CollectError::Write {
            path: self.dir.join("looks.csv"),
            reason: e.to_string(),
        })?;
        self.look_count += 1;
        Ok(())
    }

    fn write_image(&mut self, frame: &Frame, name: &str, index: usize) -> Result<(), CollectError> {
        let size = self.preprocessor.spec().size;
        self.preprocessor
            .run_u8(frame, &mut self.pixels)
            .map_err(|e| CollectError::Cut(e.to_string()))?;
        let path = self.dir.join(name);
        image::save_buffer(
            &path,
            &self.pixels,
            size.width,
            size.height,
            image::ExtendedColorType::Rgb8,
        )
        .map_err(|e| CollectError::Write {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if self.full_frame_every > 0 && index.is_multiple_of(self.full_frame_every) {
            let path = self.dir.join(format!("full/{index:07}.png"));
            frame.save_png(&path).map_err(|e| CollectError::Write {
                path,
                reason: e.to_string(),
            })?;
        }
        Ok(())
    }
}

/// Drives the expert on every circuit (and direction) until each pair's share of frames is
/// stored in `config.out`: `images/*.png` (network input size, 8-bit RGB, cut by
/// [`Preprocessor::run_u8`]), `full/*.png` (a few whole frames), `labels.csv`, and
/// `collect.json` (the settings and the summary).
pub fn collect(config: &CollectConfig) -> Result<CollectSummary, CollectError> {
    config.validate()?;
    let dir = &config.out;
    for sub in ["images", "full"] {
        let path = dir.join(sub);
        std::fs::create_dir_all(&path).map_err(|e| CollectError::Write {
            path,
            reason: e.to_string(),
        })?;
    }
    let labels_path = dir.join("labels.csv");
    let write_error = |e: csv::Error| CollectError::Write {
        path: labels_path.clone(),
        reason: e.to_string(),
    };
    let mut labels = csv::WriterBuilder::new()
        .has_headers(false)
        .from_path(&labels_path)
        .map_err(write_error)?;
    labels.write_record(LABEL_COLUMNS).map_err(write_error)?;
    let size = config.input.size;
    let mut sink = Sink {
        dir: dir.clone(),
        labels,
        preprocessor: Preprocessor::new(&config.input),
        pixels: vec![0; size.width as usize * size.height as usize * 3],
        full_frame_every: config.full_frame_every,
        count: 0,
        perturbed: 0,
        sum_abs_lateral: 0.0,
        max_abs_lateral: 0.0,
        looks: None,
        look_count: 0,
    };
    if config.looks.is_some() {
        let path = dir.join("looks.csv");
        sink.looks = Some(
            csv::Writer::from_path(&path).map_err(|e| CollectError::Write {
                path,
                reason: e.to_string(),
            })?,
        );
    }

    let mut pairs = Vec::new();
    for spec in &config.circuits {
        pairs.push((spec.as_str(), false));
        if config.both_directions {
            pairs.push((spec.as_str(), true));
        }
    }
    let mut driver = match &config.driver {
        Some(setup) => Some(
            NetworkPilot::open(&setup.model, &setup.backend).map_err(|e| CollectError::Driver {
                model: setup.model.clone(),
                reason: e.to_string(),
            })?,
        ),
        None => None,
    };
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let (mut runs, mut off_road) = (0usize, 0usize);
    for (i, (spec, reversed)) in pairs.iter().enumerate() {
        let track = Track::open(spec, config.road, *reversed, config.look)?;
        let circuit = &track.circuit;
        let direction = if *reversed { "reverse" } else { "forward" };
        let share = config.frames / pairs.len() + usize::from(i < config.frames % pairs.len());
        let target = sink.count + share;
        let mut stalled = 0;
        while sink.count < target {
            let before = sink.count;
            // Where looks are drawn, the recorder applies the camera's effects itself.
            let appearance = config.appearance.draw(&mut rng);
            let styler = match (&config.looks, &track.scenery) {
                (Some(range), Scenery::Scene(scene)) => Some(Styler {
                    range,
                    scene: scene.clone(),
                    camera: track.camera(),
                    rng: ChaCha8Rng::seed_from_u64(rng.random()),
                    every_s: config.look_every_s,
                    next_s: 0.0,
                    current: None,
                    stored: Frame::new_rgb8(1, 1),
                }),
                _ => None,
            };
            let world_config = WorldConfig {
                appearance: if styler.is_some() {
                    Appearance::default()
                } else {
                    appearance
                },
                camera: track.camera(),
                ..WorldConfig::default()
            };
            let rate = world_config.camera.rate_hz;
            let mut world = World::new(&track, &world_config)?;
            let mut recorder = Recorder {
                expert: ExpertPilot::new(world_config.camera, ExpertConfig::default()),
                driver: driver.as_mut(),
                limiter: Limiter::new(CommandLimits::default()),
                laps: LapRecorder::for_circuit(circuit, u32::MAX, Direction::Auto),
                sink: &mut sink,
                info: RunLabels {
                    circuit: &circuit.name,
                    direction,
                    run: runs,
                    centre: &circuit.centre,
                },
                rng: ChaCha8Rng::seed_from_u64(rng.random()),
                perturbation: &config.perturbation,
                frame_period: 1.0 / rate,
                quota: target,
                timeout_s: (target - before) as f64 / rate + 0.5,
                frame: world.camera().new_frame(),
                odometry: None,
                disturbance: None,
                hint: 0,
                styler,
            };
            let end = world.run(&mut recorder)?;
            runs += 1;
            if end == EndReason::LeftRoad {
                off_road += 1;
            }
            // A run that stores nothing new (the car leaves the road at once) must not loop.
            stalled = if sink.count == before { stalled + 1 } else { 0 };
            if stalled >= 3 {
                return Err(CollectError::NoProgress {
                    circuit: circuit.name.clone(),
                    direction,
                });
            }
            tracing::info!(
                circuit = %circuit.name, reversed, frames = sink.count, target, end = end.as_str(),
                "collection run done"
            );
        }
    }
    let s = &mut sink;
    s.labels.flush().map_err(|e| CollectError::Write {
        path: labels_path.clone(),
        reason: e.to_string(),
    })?;
    if let Some(looks) = s.looks.as_mut() {
        looks.flush().map_err(|e| CollectError::Write {
            path: dir.join("looks.csv"),
            reason: e.to_string(),
        })?;
    }
    let summary = CollectSummary {
        frames: s.count,
        perturbed_frames: s.perturbed,
        runs,
        runs_off_road: off_road,
        mean_abs_lateral_m: if s.count > 0 {
            s.sum_abs_lateral / s.count as f64
        } else {
            0.0
        },
        max_abs_lateral_m: s.max_abs_lateral,
    };
    write_manifest(dir, config, &summary, sink.look_count)?;
    Ok(summary)
}

/// `collect.json`: the settings and the summary, so a dataset says how it was made.
fn write_manifest(
    dir: &Path,
    config: &CollectConfig,
    summary: &CollectSummary,
    sink_looks: usize,
) -> Result<(), CollectError> {
    let p = &config.perturbation;
    let a = &config.appearance;
    let json = serde_json::json!({
        "circuits": config.circuits,
        "both_directions": config.both_directions,
        "frames_requested": config.frames,
        "seed": config.seed,
        "perturbation": {"rate_hz": p.rate_hz, "duration_s": [p.duration_s.0, p.duration_s.1],
                         "yaw_rate": [p.yaw_rate.0, p.yaw_rate.1]},
        "appearance": {"brightness": [a.brightness.0, a.brightness.1], "tint": a.tint,
                       "noise": [a.noise.0, a.noise.1], "texture": [a.texture.0, a.texture.1]},
        "input": config.input,
        "look": config.look.as_str(),
        "road_width_m": config.road.unwrap_or(config.look.road()).road_width,
        "looks": config.looks,
        "look_every_s": config.looks.as_ref().map(|_| config.look_every_s),
        "looks_drawn": sink_looks,
        "driver": config.driver.as_ref().map(|d| d.model.display().to_string()),
        "summary": summary,
    });
    let path = dir.join("collect.json");
    let mut f = std::fs::File::create(&path).map_err(|e| CollectError::Write {
        path: path.clone(),
        reason: e.to_string(),
    })?;
    writeln!(
        f,
        "{}",
        serde_json::to_string_pretty(&json).unwrap_or_default()
    )
    .map_err(|e| CollectError::Write {
        path,
        reason: e.to_string(),
    })
}
