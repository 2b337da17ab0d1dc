//! Inference backends: one trait, one file per engine, chosen by configuration.
//!
//! A [`Backend`] owns a loaded network and its input buffer. Preprocessing writes the input in
//! place ([`Backend::input`]), then [`Backend::infer`] returns the raw outputs. [`open`] picks
//! the engine from [`BackendConfig`] (or from the model's format), loads the model, and checks
//! it against its description with a trial run. Adding an engine means a new file here and
//! one arm in [`BackendKind`]'s match in [`open`].
//!
//! ONNX models run on ONNX Runtime where its library is installed, else on tract, which is
//! compiled in and needs nothing installed; TorchScript models run on libtorch.

#[cfg(feature = "ort")]
mod onnxruntime;
#[cfg(feature = "tch")]
mod torch;
#[cfg(feature = "tract")]
mod tract;

use std::path::PathBuf;
use std::str::FromStr;

use thiserror::Error;

use crate::base::settings::{within, InvalidSetting};
use crate::inference::model::{Model, ModelFormat};

/// Why a backend could not load or run a model.
#[derive(Debug, Error)]
pub enum BackendError {
    /// The backend was not compiled into this binary.
    #[error(
        "backend '{backend}' is not compiled into this binary: rebuild with \
         `--features {backend}`{hint}"
    )]
    NotCompiled {
        /// Backend name.
        backend: &'static str,
        /// Extra setup advice.
        hint: &'static str,
    },
    /// The inference runtime library could not be found or loaded.
    #[error("{0}")]
    Runtime(String),
    /// The backend cannot run this model format.
    #[error("backend '{backend}' cannot run {format} models ({path}); use {suggestion}")]
    WrongFormat {
        /// Backend name.
        backend: &'static str,
        /// The model's format.
        format: &'static str,
        /// The model file.
        path: PathBuf,
        /// The backend to use instead.
        suggestion: &'static str,
    },
    /// The backend does not support the requested device.
    #[error("backend '{backend}' does not support device '{device}' (it supports {supported})")]
    UnsupportedDevice {
        /// Backend name.
        backend: &'static str,
        /// Requested device.
        device: String,
        /// What it does support.
        supported: &'static str,
    },
    /// The model file could not be loaded (missing, corrupt, unsupported operators, …).
    #[error("cannot load model {path}: {reason}")]
    Load {
        /// The model file.
        path: PathBuf,
        /// The runtime's message.
        reason: String,
    },
    /// The model contradicts its description.
    #[error("model {path} does not match its description {description}: {what}")]
    Mismatch {
        /// The model file.
        path: PathBuf,
        /// The description file.
        description: PathBuf,
        /// What differs.
        what: String,
    },
    /// Running the network failed.
    #[error("inference failed: {0}")]
    Inference(String),
    /// A backend setting is out of range.
    #[error("backend setting {0}")]
    Setting(String),
}

/// The inference engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    /// ONNX Runtime through `ort` (ONNX models; CPU, CUDA, TensorRT).
    Ort,
    /// libtorch through `tch` (TorchScript models; CPU, CUDA).
    Tch,
    /// tract, pure Rust (ONNX models; CPU). Needs no runtime library.
    Tract,
}

impl BackendKind {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Ort => "ort",
            BackendKind::Tch => "tch",
            BackendKind::Tract => "tract",
        }
    }

    /// Whether this engine runs `format` models.
    pub fn runs(self, format: ModelFormat) -> bool {
        match self {
            BackendKind::Ort | BackendKind::Tract => format == ModelFormat::Onnx,
            BackendKind::Tch => format == ModelFormat::Torchscript,
        }
    }

    /// The engine that runs `format` models when none is named: for ONNX, ONNX Runtime if
    /// this binary has it and its library is installed, else tract if compiled in.
    pub fn for_format(format: ModelFormat) -> BackendKind {
        match format {
            ModelFormat::Torchscript => BackendKind::Tch,
            ModelFormat::Onnx if ort_installed() || !cfg!(feature = "tract") => BackendKind::Ort,
            ModelFormat::Onnx => BackendKind::Tract,
        }
    }

    /// Whether this binary contains the engine.
    pub fn compiled(self) -> bool {
        match self {
            BackendKind::Ort => cfg!(feature = "ort"),
            BackendKind::Tch => cfg!(feature = "tch"),
            BackendKind::Tract => cfg!(feature = "tract"),
        }
    }
}

/// Whether ONNX Runtime is compiled in and its library is where it is looked for.
fn ort_installed() -> bool {
    #[cfg(feature = "ort")]
    return onnxruntime::library_candidates()
        .iter()
        .any(|p| p.is_file());
    #[cfg(not(feature = "ort"))]
    false
}

impl FromStr for BackendKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "ort" | "onnxruntime" => Ok(BackendKind::Ort),
            "tch" | "libtorch" | "torch" => Ok(BackendKind::Tch),
            "tract" => Ok(BackendKind::Tract),
            _ => Err(format!(
                "unknown backend '{s}' (expected ort, tract or tch)"
            )),
        }
    }
}

/// Where the network runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Device {
    /// The CPU.
    #[default]
    Cpu,
    /// A CUDA GPU, by index.
    Cuda(u32),
    /// TensorRT on a CUDA GPU, by index (ONNX Runtime's TensorRT execution provider).
    TensorRt(u32),
}

impl std::fmt::Display for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Device::Cpu => f.write_str("cpu"),
            Device::Cuda(0) => f.write_str("cuda"),
            Device::Cuda(i) => write!(f, "cuda:{i}"),
            Device::TensorRt(0) => f.write_str("tensorrt"),
            Device::TensorRt(i) => write!(f, "tensorrt:{i}"),
        }
    }
}

impl FromStr for Device {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (name, index) = match s.split_once(':') {
            Some((n, i)) => (
                n,
                i.parse::<u32>()
                    .map_err(|_| format!("device '{s}': '{i}' is not a GPU index"))?,
            ),
            None => (s, 0),
        };
        match name {
            "cpu" if index == 0 => Ok(Device::Cpu),
            "cuda" | "gpu" => Ok(Device::Cuda(index)),
            "tensorrt" | "trt" => Ok(Device::TensorRt(index)),
            _ => Err(format!(
                "unknown device '{s}' (expected cpu, cuda[:N] or tensorrt[:N])"
            )),
        }
    }
}

/// ONNX Runtime graph optimisation level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GraphOptimization {
    /// None.
    Disable,
    /// Constant folding and redundant-node elimination.
    Basic,
    /// Plus node fusions.
    Extended,
    /// Plus memory-layout optimisations.
    Layout,
    /// Everything (ONNX Runtime's default).
    #[default]
    All,
}

impl FromStr for GraphOptimization {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "disable" | "none" => Ok(GraphOptimization::Disable),
            "basic" => Ok(GraphOptimization::Basic),
            "extended" => Ok(GraphOptimization::Extended),
            "layout" => Ok(GraphOptimization::Layout),
            "all" => Ok(GraphOptimization::All),
            _ => Err(format!(
                "unknown graph optimization '{s}' (expected disable, basic, extended, layout or all)"
            )),
        }
    }
}

/// TensorRT precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TensorRtPrecision {
    /// 32-bit float.
    #[default]
    Fp32,
    /// 16-bit float where TensorRT finds it faster.
    Fp16,
    /// 8-bit integer, with a calibration table.
    Int8,
}

impl FromStr for TensorRtPrecision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "fp32" => Ok(TensorRtPrecision::Fp32),
            "fp16" => Ok(TensorRtPrecision::Fp16),
            "int8" => Ok(TensorRtPrecision::Int8),
            _ => Err(format!(
                "unknown TensorRT precision '{s}' (expected fp32, fp16 or int8)"
            )),
        }
    }
}

/// TensorRT execution-provider settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TensorRtConfig {
    /// Precision TensorRT builds the engine in.
    pub precision: TensorRtPrecision,
    /// INT8 calibration table (required for int8 unless the model carries Q/DQ nodes).
    pub calibration_table: Option<PathBuf>,
    /// Folder where built engines are cached between runs (building takes seconds to minutes).
    pub engine_cache: Option<PathBuf>,
}

/// Which engine, where, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendConfig {
    /// Engine; `None` picks the one for the model's format.
    pub kind: Option<BackendKind>,
    /// Device.
    pub device: Device,
    /// Intra-op threads (1 = single-threaded, the figure the study's tables use).
    pub threads: usize,
    /// ONNX Runtime graph optimisation level.
    pub optimization: GraphOptimization,
    /// TensorRT settings, used with [`Device::TensorRt`].
    pub tensorrt: TensorRtConfig,
}

impl Default for BackendConfig {
    fn default() -> Self {
        BackendConfig {
            kind: None,
            device: Device::Cpu,
            threads: 1,
            optimization: GraphOptimization::All,
            tensorrt: TensorRtConfig::default(),
        }
    }
}

/// Most intra-op threads an engine may be given.
pub const MAX_THREADS: usize = 256;

impl BackendConfig {
    /// Checks the settings; the error names the one that is wrong.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        within("threads", self.threads, 1, MAX_THREADS)?;
        if !matches!(self.device, Device::TensorRt(_)) {
            let t = &self.tensorrt;
            let set = [
                ("trt_precision", t.precision != TensorRtPrecision::Fp32),
                ("trt_calibration_table", t.calibration_table.is_some()),
                ("trt_engine_cache", t.engine_cache.is_some()),
            ];
            if let Some((name, _)) = set.iter().find(|(_, on)| *on) {
                return Err(InvalidSetting::new(
                    name,
                    format!(
                        "TensorRT settings need device tensorrt (device is {})",
                        self.device
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// A loaded network, ready to run.
pub trait Backend: Send {
    /// Engine name (`ort`, `tch`, `tract`).
    fn kind(&self) -> BackendKind;

    /// Where it runs.
    fn device(&self) -> Device;

    /// The input tensor, written in place by preprocessing (layout per the description).
    fn input(&mut self) -> &mut [f32];

    /// Runs the network on the current input and returns its flattened output.
    fn infer(&mut self) -> Result<&[f32], BackendError>;
}

/// Loads `model` with the engine and device of `config`, and checks it against its
/// description: input shape where the engine exposes it, output count by a trial run.
pub fn open(model: &Model, config: &BackendConfig) -> Result<Box<dyn Backend>, BackendError> {
    config
        .validate()
        .map_err(|e| BackendError::Setting(e.to_string()))?;
    let kind = config
        .kind
        .unwrap_or_else(|| BackendKind::for_format(model.format));
    if !kind.runs(model.format) {
        return Err(BackendError::WrongFormat {
            backend: kind.as_str(),
            format: model.format.as_str(),
            path: model.path.clone(),
            suggestion: BackendKind::for_format(model.format).as_str(),
        });
    }
    let opened: Result<Box<dyn Backend>, BackendError> = match kind {
        #[cfg(feature = "ort")]
        BackendKind::Ort => {
            onnxruntime::OrtBackend::open(model, config).map(|b| Box::new(b) as Box<dyn Backend>)
        }
        #[cfg(not(feature = "ort"))]
        BackendKind::Ort => Err(BackendError::NotCompiled {
            backend: "ort",
            hint: "",
        }),
        #[cfg(feature = "tch")]
        BackendKind::Tch => {
            torch::TchBackend::open(model, config).map(|b| Box::new(b) as Box<dyn Backend>)
        }
        #[cfg(not(feature = "tch"))]
        BackendKind::Tch => Err(BackendError::NotCompiled {
            backend: "tch",
            hint: " after scripts/setup-libtorch.sh",
        }),
        #[cfg(feature = "tract")]
        BackendKind::Tract => {
            tract::TractBackend::open(model, config).map(|b| Box::new(b) as Box<dyn Backend>)
        }
        #[cfg(not(feature = "tract"))]
        BackendKind::Tract => Err(BackendError::NotCompiled {
            backend: "tract",
            hint: "",
        }),
    };
    let mut backend = opened?;
    trial_run(backend.as_mut(), model)?;
    tracing::info!(
        engine = kind.as_str(),
        device = %config.device,
        model = %model.path.display(),
        "network loaded"
    );
    Ok(backend)
}

/// Runs the network once on a mid-grey input and checks the output count.
fn trial_run(backend: &mut dyn Backend, model: &Model) -> Result<(), BackendError> {
    if backend.input().len() != model.input.len() {
        return Err(mismatch(
            model,
            format!(
                "input buffer holds {} values, the description's input {:?} needs {}",
                backend.input().len(),
                model.input.shape(),
                model.input.len()
            ),
        ));
    }
    backend.input().fill(0.5);
    let out = backend.infer().map_err(|e| {
        mismatch(
            model,
            format!(
                "a trial run on an input of shape {:?} failed: {e}",
                model.input.shape()
            ),
        )
    })?;
    if out.len() != model.output.count {
        return Err(mismatch(
            model,
            format!(
                "the network returns {} values, the description says output.count {}",
                out.len(),
                model.output.count
            ),
        ));
    }
    Ok(())
}

pub(crate) fn mismatch(model: &Model, what: String) -> BackendError {
    BackendError::Mismatch {
        path: model.path.clone(),
        description: model.description_path.clone(),
        what,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse() {
        assert_eq!("ort".parse(), Ok(BackendKind::Ort));
        assert_eq!("tch".parse(), Ok(BackendKind::Tch));
        assert_eq!("tract".parse(), Ok(BackendKind::Tract));
        assert!(BackendKind::Tract.runs(ModelFormat::Onnx));
        assert!(!BackendKind::Tract.runs(ModelFormat::Torchscript));
        assert!("tflite"
            .parse::<BackendKind>()
            .unwrap_err()
            .contains("tflite"));
        assert_eq!("cpu".parse(), Ok(Device::Cpu));
        assert_eq!("cuda:1".parse(), Ok(Device::Cuda(1)));
        assert_eq!("tensorrt".parse(), Ok(Device::TensorRt(0)));
        assert!("cuda:x".parse::<Device>().is_err());
        assert!("npu".parse::<Device>().unwrap_err().contains("npu"));
        assert_eq!(Device::Cuda(1).to_string(), "cuda:1");
        assert_eq!("int8".parse(), Ok(TensorRtPrecision::Int8));
        assert_eq!("basic".parse(), Ok(GraphOptimization::Basic));
    }

    #[test]
    fn settings_are_checked_by_name() {
        assert!(BackendConfig::default().validate().is_ok());
        let many = BackendConfig {
            threads: 100_000,
            ..BackendConfig::default()
        };
        assert_eq!(many.validate().unwrap_err().name, "threads");
        let fp16_on_cpu = BackendConfig {
            tensorrt: TensorRtConfig {
                precision: TensorRtPrecision::Fp16,
                ..TensorRtConfig::default()
            },
            ..BackendConfig::default()
        };
        assert_eq!(fp16_on_cpu.validate().unwrap_err().name, "trt_precision");
        let on_trt = BackendConfig {
            device: Device::TensorRt(0),
            ..fp16_on_cpu
        };
        assert!(on_trt.validate().is_ok());
    }
}
