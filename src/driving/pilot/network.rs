//! The network pilot: preprocessing → backend → output mapping, timed per stage.

use std::time::Instant;

use serde::Serialize;

use super::{Engine, Pilot, PilotError};
use crate::base::control::Command;
use crate::base::sensor::{Frame, Odometry};
use crate::base::timing::{StepTimer, TimingStats};
use crate::inference::backend::{self, Backend, BackendConfig, BackendError};
use crate::inference::model::{Model, ModelError, OutputSpec};
use crate::inference::preprocess::{PreprocessError, Preprocessor};

/// Why a network pilot could not be built.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    /// The model or its description is unusable.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The backend could not load it.
    #[error(transparent)]
    Backend(#[from] BackendError),
}

/// Wall time of the network pilot's stages.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StageTimings {
    /// Crop, resize and scale.
    pub preprocess: TimingStats,
    /// The backend's run, output copy included.
    pub inference: TimingStats,
}

/// Drives with a neural network: camera frame → (v, w).
pub struct NetworkPilot {
    name: String,
    output: OutputSpec,
    preprocessor: Preprocessor,
    backend: Box<dyn Backend>,
    preprocess_timer: StepTimer,
    inference_timer: StepTimer,
    non_finite: u64,
}

impl NetworkPilot {
    /// Opens the model at `path` (model file or description) with `config`.
    pub fn open(path: &std::path::Path, config: &BackendConfig) -> Result<Self, NetworkError> {
        let model = Model::open(path)?;
        let backend = backend::open(&model, config)?;
        Ok(Self::new(&model, backend))
    }

    /// A pilot around an already loaded backend for `model`.
    pub fn new(model: &Model, backend: Box<dyn Backend>) -> Self {
        NetworkPilot {
            name: model.name(),
            output: model.output,
            preprocessor: Preprocessor::new(&model.input),
            backend,
            preprocess_timer: StepTimer::new(),
            inference_timer: StepTimer::new(),
            non_finite: 0,
        }
    }

    /// Preprocesses `frame` into the backend's input and runs the network: the raw outputs.
    pub fn infer(&mut self, frame: &Frame) -> Result<&[f32], PilotError> {
        let start = Instant::now();
        self.preprocessor
            .run(frame, self.backend.input())
            .map_err(|e| match e {
                PreprocessError::Frame(f) => PilotError::Frame(f),
                other => PilotError::Backend(other.to_string()),
            })?;
        let mid = Instant::now();
        self.preprocess_timer.record(mid - start);
        let out = self
            .backend
            .infer()
            .map_err(|e| PilotError::Backend(e.to_string()))?;
        self.inference_timer.record(mid.elapsed());
        Ok(out)
    }

    /// Raw outputs → command, by the description's output mapping.
    pub fn command(output: &OutputSpec, raw: &[f32]) -> Command {
        Command::new(output.v_of(raw), output.w_of(raw))
    }

    /// The output mapping.
    pub fn output_spec(&self) -> &OutputSpec {
        &self.output
    }

    /// Outputs that were NaN or infinite (each answered with a stop).
    pub fn non_finite_outputs(&self) -> u64 {
        self.non_finite
    }
}

impl Pilot for NetworkPilot {
    fn name(&self) -> &str {
        &self.name
    }

    fn engine(&self) -> Option<Engine> {
        Some(Engine {
            backend: self.backend.kind(),
            device: self.backend.device(),
        })
    }

    fn drive(
        &mut self,
        frame: &Frame,
        _odometry: Option<&Odometry>,
    ) -> Result<Command, PilotError> {
        let output = self.output;
        let cmd = Self::command(&output, self.infer(frame)?);
        if !(cmd.v.is_finite() && cmd.w.is_finite()) {
            self.non_finite += 1;
            return Err(PilotError::NonFinite { v: cmd.v, w: cmd.w });
        }
        Ok(cmd)
    }

    fn stage_timings(&self) -> Option<StageTimings> {
        Some(StageTimings {
            preprocess: self.preprocess_timer.stats(),
            inference: self.inference_timer.stats(),
        })
    }
}
