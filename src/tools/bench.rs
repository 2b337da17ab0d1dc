//! Offline benchmark of one model: file size, preprocessing and inference time, and the MSE
//! of (v, w) on a labelled dataset, in the normalised label space the network was trained in
//! (the three figures of the reference study's tables).
//!
//! Timing runs `frames` iterations after `warmup`, cycling through a small set of frames
//! (rendered by the simulator, or the dataset's first images), and records each stage in an
//! HDR histogram. The MSE pass runs every dataset sample once.

use std::path::PathBuf;
use std::time::Instant;

use serde::Serialize;
use thiserror::Error;

use crate::base::camera::CameraConfig;
use crate::base::sensor::Frame;
use crate::base::settings::{within, InvalidSetting};
use crate::base::timing::StepTimer;
use crate::evaluation::circuit::{Circuit, RoadGeometry};
use crate::evaluation::steering::{TurnBand, TurnErrors};
use crate::inference::backend::{self, Backend, BackendConfig, BackendError};
use crate::inference::model::{Crop, InputSpec, Model, ModelError};
use crate::inference::preprocess::{PreprocessError, Preprocessor};
use crate::sim::render::{Appearance, Renderer};
use crate::tools::dataset::{self, DatasetError};

/// Why a benchmark could not run.
#[derive(Debug, Error)]
pub enum BenchError {
    /// The model or its description.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The backend.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The dataset.
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    /// A frame could not be preprocessed.
    #[error("{source}: {what}")]
    Preprocess {
        /// Which frame.
        what: String,
        /// Why.
        source: PreprocessError,
    },
    /// A setting is out of range.
    #[error("bench setting {0}")]
    Setting(#[from] InvalidSetting),
    /// A frame has neither the model's camera size nor its input size.
    #[error("{0}")]
    FrameSize(String),
}

/// What to measure.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchConfig {
    /// Timed iterations.
    pub frames: usize,
    /// Untimed iterations before them.
    pub warmup: usize,
    /// Labelled dataset folder for the MSE (and the frames timed).
    pub dataset: Option<PathBuf>,
}

impl Default for BenchConfig {
    fn default() -> Self {
        BenchConfig {
            frames: 1000,
            warmup: 50,
            dataset: None,
        }
    }
}

impl BenchConfig {
    /// Checks the settings; the error names the one that is wrong.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        within("frames", self.frames, 1, 100_000_000)?;
        within("warmup", self.warmup, 0, 100_000_000)?;
        Ok(())
    }
}

/// The benchmark's figures, printed by `pilotnet-brain bench --json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BenchReport {
    /// Model file.
    pub model: String,
    /// Engine.
    pub backend: String,
    /// Device.
    pub device: String,
    /// Intra-op threads.
    pub threads: usize,
    /// Model file size, MB (10^6 bytes).
    pub size_mb: f64,
    /// Timed iterations.
    pub frames: usize,
    /// Preprocessing median, ms.
    pub preprocess_ms_p50: f64,
    /// Preprocessing 99th percentile, ms.
    pub preprocess_ms_p99: f64,
    /// Preprocessing mean, ms.
    pub preprocess_ms_mean: f64,
    /// Inference mean, ms.
    pub inference_ms_mean: f64,
    /// Inference median, ms.
    pub inference_ms_p50: f64,
    /// Inference 99th percentile, ms.
    pub inference_ms_p99: f64,
    /// Longest inference, ms.
    pub inference_ms_max: f64,
    /// MSE of (v, w) in normalised label space, mean of both (null without a dataset).
    pub mse: Option<f64>,
    /// MSE of v alone.
    pub mse_v: Option<f64>,
    /// MSE of w alone.
    pub mse_w: Option<f64>,
    /// Samples in the MSE.
    pub dataset_samples: Option<usize>,
    /// The yaw rate's error in rad/s by how hard the labels turn (null without a dataset).
    pub w_error_by_turn: Option<Vec<TurnBand>>,
}

/// The model's input spec for frames already cut to its input size (identity crop/resize).
fn precut(spec: &InputSpec) -> InputSpec {
    InputSpec {
        frame: spec.size,
        crop: Crop {
            top: 0,
            bottom: spec.size.height,
            left: 0,
            right: spec.size.width,
        },
        ..spec.clone()
    }
}

/// Frames for timing when there is no dataset: a lap of a built-in circuit, seen from the
/// centre line with the heading swung left and right.
fn rendered_frames(count: usize) -> Vec<Frame> {
    let circuit = Circuit::load("lakeside", RoadGeometry::default(), false)
        .expect("the built-in circuit loads");
    let renderer = Renderer::new(&circuit, CameraConfig::default());
    let appearance = Appearance::default();
    (0..count)
        .map(|i| {
            let mut pose = circuit.pose_at(circuit.length() * i as f64 / count as f64);
            pose.yaw += 0.15 * ((i % 5) as f64 - 2.0);
            let mut frame = renderer.new_frame();
            renderer.render(&pose, &appearance, i as u64, &mut frame);
            frame
        })
        .collect()
}

/// Picks the preprocessor for a frame: whole camera frame, or already cut to input size.
fn preprocessor_for<'a>(
    frame: &Frame,
    full: &'a mut Preprocessor,
    cut: &'a mut Preprocessor,
    name: &str,
) -> Result<&'a mut Preprocessor, BenchError> {
    let (f, s) = (full.spec().frame, full.spec().size);
    if (frame.width, frame.height) == (f.width, f.height) {
        Ok(full)
    } else if (frame.width, frame.height) == (s.width, s.height) {
        Ok(cut)
    } else {
        Err(BenchError::FrameSize(format!(
            "{name} is {}x{}; the model takes camera frames of {}x{} or frames already cut to \
             its input size {}x{}",
            frame.width, frame.height, f.width, f.height, s.width, s.height
        )))
    }
}

/// Measures the model at `path` with `backend_config` as `config` says.
pub fn run(
    path: &std::path::Path,
    backend_config: &BackendConfig,
    config: &BenchConfig,
) -> Result<BenchReport, BenchError> {
    config.validate()?;
    let model = Model::open(path)?;
    let mut backend = backend::open(&model, backend_config)?;
    let mut full = Preprocessor::new(&model.input);
    let mut cut = Preprocessor::new(&precut(&model.input));

    let samples = match &config.dataset {
        Some(dir) => Some(dataset::read_samples(dir)?),
        None => None,
    };
    let timing_frames: Vec<(String, Frame)> = match &samples {
        Some(samples) => samples
            .iter()
            .take(32)
            .map(|s| {
                Ok((
                    s.image.display().to_string(),
                    dataset::read_image(&s.image)?,
                ))
            })
            .collect::<Result<_, DatasetError>>()?,
        None => rendered_frames(32)
            .into_iter()
            .enumerate()
            .map(|(i, f)| (format!("rendered frame {i}"), f))
            .collect(),
    };

    let (mut pre_timer, mut inf_timer) = (StepTimer::new(), StepTimer::new());
    for i in 0..config.warmup + config.frames {
        let (name, frame) = &timing_frames[i % timing_frames.len()];
        let pre = preprocessor_for(frame, &mut full, &mut cut, name)?;
        let start = Instant::now();
        pre.run(frame, backend.input())
            .map_err(|source| BenchError::Preprocess {
                what: name.clone(),
                source,
            })?;
        let mid = Instant::now();
        let out = backend.infer()?;
        let end = Instant::now();
        std::hint::black_box(out);
        if i >= config.warmup {
            pre_timer.record(mid - start);
            inf_timer.record(end - mid);
        }
    }

    let scored = match &samples {
        Some(samples) => Some(score_dataset(
            &model,
            backend.as_mut(),
            &mut full,
            &mut cut,
            samples,
        )?),
        None => None,
    };
    let (p, i) = (pre_timer.stats(), inf_timer.stats());
    Ok(BenchReport {
        model: model.path.display().to_string(),
        backend: backend.kind().as_str().to_string(),
        device: backend.device().to_string(),
        threads: backend_config.threads,
        size_mb: model.file_size()? as f64 / 1e6,
        frames: config.frames,
        preprocess_ms_p50: p.p50_ms,
        preprocess_ms_p99: p.p99_ms,
        preprocess_ms_mean: p.mean_ms,
        inference_ms_mean: i.mean_ms,
        inference_ms_p50: i.p50_ms,
        inference_ms_p99: i.p99_ms,
        inference_ms_max: i.max_ms,
        mse: scored.as_ref().map(|s| (s.mse_v + s.mse_w) / 2.0),
        mse_v: scored.as_ref().map(|s| s.mse_v),
        mse_w: scored.as_ref().map(|s| s.mse_w),
        dataset_samples: samples.as_ref().map(Vec::len),
        w_error_by_turn: scored.map(|s| s.turns.bands()),
    })
}

/// How the network answers a dataset.
struct Scored {
    /// MSE of v in normalised label space.
    mse_v: f64,
    /// MSE of w in normalised label space.
    mse_w: f64,
    /// w against the labels, by turn.
    turns: TurnErrors,
}

/// Mean squared error of v and w over `samples`, in normalised label space, and w's error
/// by turn in rad/s.
fn score_dataset(
    model: &Model,
    backend: &mut dyn Backend,
    full: &mut Preprocessor,
    cut: &mut Preprocessor,
    samples: &[dataset::Sample],
) -> Result<Scored, BenchError> {
    let out = model.output;
    let (mut sv, mut sw) = (0.0, 0.0);
    // The yaw rates the network can answer: its normalised output from 0 to 1.
    let mut turns = TurnErrors::new(out.w.apply(0.0), out.w.apply(1.0));
    for s in samples {
        let frame = dataset::read_image(&s.image)?;
        let name = s.image.display().to_string();
        let pre = preprocessor_for(&frame, full, cut, &name)?;
        pre.run(&frame, backend.input())
            .map_err(|source| BenchError::Preprocess { what: name, source })?;
        let raw = backend.infer()?;
        let dv = out.normalised(raw, out.v.index) - out.v.invert(s.v);
        let dw = out.normalised(raw, out.w.index) - out.w.invert(s.w);
        sv += dv * dv;
        sw += dw * dw;
        turns.add(s.w, out.w_of(raw));
    }
    let n = samples.len() as f64;
    Ok(Scored {
        mse_v: sv / n,
        mse_w: sw / n,
        turns,
    })
}

/// One line for the bands: `|w| 0–0.5: median 0.08 rad/s, gain 0.99 (3817)` and so on.
fn turn_summary(bands: &[TurnBand]) -> String {
    let opt =
        |v: Option<f64>, digits: usize| v.map_or("-".to_string(), |x| format!("{x:.digits$}"));
    bands
        .iter()
        .map(|b| {
            let to = b.abs_w_to.map_or("+".to_string(), |t| format!("-{t}"));
            format!(
                "{}{to}: median {} rad/s, gain {} ({})",
                b.abs_w_from,
                opt(b.median_abs_error_rad_s, 3),
                opt(b.gain, 2),
                b.samples
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl BenchReport {
    /// The report as one line of JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("report serialises")
    }

    /// The report as a readable table.
    pub fn to_table(&self) -> String {
        let opt = |v: Option<f64>| v.map_or("-".to_string(), |x| format!("{x:.6}"));
        let rows = [
            ("model", self.model.clone()),
            (
                "backend",
                format!(
                    "{} on {}, {} thread(s)",
                    self.backend, self.device, self.threads
                ),
            ),
            ("size", format!("{:.2} MB", self.size_mb)),
            ("frames timed", self.frames.to_string()),
            (
                "preprocess p50/p99/mean",
                format!(
                    "{:.4} / {:.4} / {:.4} ms",
                    self.preprocess_ms_p50, self.preprocess_ms_p99, self.preprocess_ms_mean
                ),
            ),
            (
                "inference mean/p50/p99/max",
                format!(
                    "{:.4} / {:.4} / {:.4} / {:.4} ms",
                    self.inference_ms_mean,
                    self.inference_ms_p50,
                    self.inference_ms_p99,
                    self.inference_ms_max
                ),
            ),
            (
                "MSE (v, w normalised)",
                match self.dataset_samples {
                    Some(n) => format!(
                        "{} (v {}, w {}) over {n} samples",
                        opt(self.mse),
                        opt(self.mse_v),
                        opt(self.mse_w)
                    ),
                    None => "- (no --dataset)".into(),
                },
            ),
            (
                "w error by |w label|",
                match &self.w_error_by_turn {
                    Some(bands) => turn_summary(bands),
                    None => "- (no --dataset)".into(),
                },
            ),
        ];
        rows.iter().map(|(k, v)| format!("{k:<28} {v}\n")).collect()
    }
}
