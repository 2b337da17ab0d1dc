//! ONNX Runtime backend (`ort`, feature `ort`): ONNX models on the CPU, CUDA or TensorRT
//! execution providers.
//!
//! The runtime library is loaded at run time (`ort`'s `load-dynamic`), from the first of:
//! `ORT_DYLIB_PATH`; `libonnxruntime.so` beside the executable or in `../lib` from it (an
//! installed package); the project's own `.runtimes/onnxruntime/` that `scripts/setup-ort.sh`
//! fills. The input tensor is allocated once and written in place every frame.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ort::environment::Environment;
use ort::ep::{self, ExecutionProviderDispatch};
use ort::session::builder::GraphOptimizationLevel;
use ort::session::{HasSelectedOutputs, OutputSelector, RunOptions, Session};
use ort::value::{Tensor, ValueType};

use super::{
    mismatch, Backend, BackendConfig, BackendError, BackendKind, Device, GraphOptimization,
    TensorRtPrecision,
};
use crate::inference::model::Model;

/// The project-local library `scripts/setup-ort.sh` installs.
const PROJECT_LIBRARY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/.runtimes/onnxruntime/libonnxruntime.so"
);

/// Where the ONNX Runtime library is looked for, in order.
pub fn library_candidates() -> Vec<PathBuf> {
    if let Some(path) = std::env::var_os("ORT_DYLIB_PATH") {
        return vec![PathBuf::from(path)];
    }
    let mut found = Vec::new();
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(Path::to_path_buf))
    {
        found.push(dir.join("libonnxruntime.so"));
        found.push(dir.join("../lib/libonnxruntime.so"));
    }
    found.push(PathBuf::from(PROJECT_LIBRARY));
    found
}

/// The process-wide ONNX Runtime environment, loading the library on first use.
fn environment() -> Result<&'static Environment, BackendError> {
    static ENV: OnceLock<Result<Environment, String>> = OnceLock::new();
    ENV.get_or_init(|| {
        let candidates = library_candidates();
        let Some(path) = candidates.iter().find(|p| p.is_file()) else {
            let looked: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
            return Err(format!(
                "ONNX Runtime library not found (looked for {}). Run scripts/setup-ort.sh in \
                 the pilotnet_brain checkout, or set ORT_DYLIB_PATH to a libonnxruntime.so of \
                 version 1.31 or newer",
                looked.join(", ")
            ));
        };
        tracing::debug!(library = %path.display(), "loading ONNX Runtime");
        let builder = ort::init_from(path).map_err(|e| {
            format!(
                "cannot load ONNX Runtime from {}: {e}. Run scripts/setup-ort.sh, or point \
                 ORT_DYLIB_PATH at a libonnxruntime.so of version 1.31 or newer",
                path.display()
            )
        })?;
        builder
            .with_name("pilotnet_brain")
            .build()
            .map_err(|e| format!("cannot start ONNX Runtime from {}: {e}", path.display()))
    })
    .as_ref()
    .map_err(|e| BackendError::Runtime(e.clone()))
}

/// A model in an ONNX Runtime session.
pub struct OrtBackend {
    session: Session,
    input: Tensor<f32>,
    /// With a fixed output shape, the output tensor is allocated once and reused.
    preallocated: Option<RunOptions<HasSelectedOutputs>>,
    output: Vec<f32>,
    device: Device,
}

impl OrtBackend {
    /// Loads `model` with `config`'s device, threads and optimisation level.
    pub fn open(model: &Model, config: &BackendConfig) -> Result<OrtBackend, BackendError> {
        let env = environment()?;
        let load = |reason: String| BackendError::Load {
            path: model.path.clone(),
            reason,
        };
        let level = match config.optimization {
            GraphOptimization::Disable => GraphOptimizationLevel::Disable,
            GraphOptimization::Basic => GraphOptimizationLevel::Level1,
            GraphOptimization::Extended => GraphOptimizationLevel::Level2,
            GraphOptimization::Layout => GraphOptimizationLevel::Level3,
            GraphOptimization::All => GraphOptimizationLevel::All,
        };
        let providers = execution_providers(config)?;
        let mut builder = Session::builder(env)
            .map_err(|e| load(e.to_string()))?
            .with_optimization_level(level)
            .map_err(|e| load(e.to_string()))?
            .with_intra_threads(config.threads.max(1))
            .map_err(|e| load(e.to_string()))?
            .with_inter_threads(1)
            .map_err(|e| load(e.to_string()))?
            .with_execution_providers(providers)
            .map_err(|e| {
                BackendError::Runtime(format!(
                    "ONNX Runtime cannot use device '{}': {e}. The GPU providers come with \
                     the onnxruntime-gpu build (ORT_PACKAGE=onnxruntime-gpu \
                     scripts/setup-ort.sh) and need CUDA and cuDNN on the library path; \
                     TensorRT also needs TensorRT's libraries",
                    config.device
                ))
            })?;
        let session = builder
            .commit_from_file(&model.path)
            .map_err(|e| load(e.to_string()))?;
        check_signature(&session, model)?;
        let shape = model.input.shape();
        let input = Tensor::from_array((shape, vec![0.0f32; model.input.len()]))
            .map_err(|e| load(format!("cannot allocate the input tensor: {e}")))?;
        let preallocated = preallocated_output(&session)
            .map_err(|e| load(format!("cannot allocate the output tensor: {e}")))?;
        Ok(OrtBackend {
            session,
            input,
            preallocated,
            output: Vec::with_capacity(model.output.count),
            device: config.device,
        })
    }
}

/// Run options that write the output into a tensor allocated once, when its shape is fixed.
fn preallocated_output(session: &Session) -> ort::Result<Option<RunOptions<HasSelectedOutputs>>> {
    let output = &session.outputs()[0];
    let ValueType::Tensor { ty, shape, .. } = output.dtype() else {
        return Ok(None);
    };
    if *ty != ort::value::TensorElementType::Float32 || shape.iter().any(|d| *d < 0) {
        return Ok(None);
    }
    let dims: Vec<usize> = shape.iter().map(|d| *d as usize).collect();
    let tensor = Tensor::<f32>::new(session.allocator(), dims)?;
    let selector = OutputSelector::default().preallocate(output.name(), tensor);
    Ok(Some(RunOptions::new()?.with_outputs(selector)))
}

/// Execution providers for the configured device; failing to register one is an error, not a
/// silent fall-back to the CPU.
fn execution_providers(
    config: &BackendConfig,
) -> Result<Vec<ExecutionProviderDispatch>, BackendError> {
    Ok(match config.device {
        Device::Cpu => vec![ep::CPU::default().build()],
        Device::Cuda(id) => vec![ep::CUDA::default()
            .with_device_id(id as i32)
            .build()
            .error_on_failure()],
        Device::TensorRt(id) => {
            let trt = &config.tensorrt;
            let mut provider = ep::TensorRT::default()
                .with_device_id(id as i32)
                .with_fp16(trt.precision == TensorRtPrecision::Fp16)
                .with_int8(trt.precision == TensorRtPrecision::Int8);
            let cache = trt.engine_cache.clone().or_else(|| {
                trt.calibration_table
                    .as_ref()
                    .and_then(|t| t.parent().map(Path::to_path_buf))
            });
            if let Some(dir) = &cache {
                std::fs::create_dir_all(dir).map_err(|e| {
                    BackendError::Runtime(format!(
                        "cannot create TensorRT engine cache {}: {e}",
                        dir.display()
                    ))
                })?;
                provider = provider
                    .with_engine_cache(true)
                    .with_engine_cache_path(dir.display())
                    .with_timing_cache(true)
                    .with_timing_cache_path(dir.display());
            }
            if let Some(table) = &trt.calibration_table {
                // TensorRT's provider reads the table by name from the engine cache folder.
                let name = table.file_name().ok_or_else(|| {
                    BackendError::Runtime(format!(
                        "calibration table {} is not a file",
                        table.display()
                    ))
                })?;
                let dir = cache.as_deref().unwrap_or(Path::new("."));
                let placed = dir.join(name);
                if !table.is_file() {
                    return Err(BackendError::Runtime(format!(
                        "TensorRT calibration table {} does not exist",
                        table.display()
                    )));
                }
                if placed != *table {
                    std::fs::copy(table, &placed).map_err(|e| {
                        BackendError::Runtime(format!(
                            "cannot copy calibration table {} into the engine cache {}: {e}",
                            table.display(),
                            dir.display()
                        ))
                    })?;
                }
                provider = provider
                    .with_int8_calibration_table_name(name.to_string_lossy())
                    .with_int8_use_native_calibration_table(false);
            }
            vec![
                provider.build().error_on_failure(),
                // Layers TensorRT does not take run on CUDA.
                ep::CUDA::default()
                    .with_device_id(id as i32)
                    .build()
                    .error_on_failure(),
            ]
        }
    })
}

/// One f32 tensor input of rank 4 whose fixed dimensions match the description; one output.
fn check_signature(session: &Session, model: &Model) -> Result<(), BackendError> {
    let inputs = session.inputs();
    if inputs.len() != 1 {
        return Err(mismatch(
            model,
            format!(
                "the network has {} inputs; pilotnet_brain feeds exactly one image tensor",
                inputs.len()
            ),
        ));
    }
    let expected = model.input.shape();
    match inputs[0].dtype() {
        ValueType::Tensor { ty, shape, .. } => {
            if *ty != ort::value::TensorElementType::Float32 {
                return Err(mismatch(
                    model,
                    format!("input '{}' is {ty}, expected float32", inputs[0].name()),
                ));
            }
            let dims: Vec<i64> = shape.iter().copied().collect();
            let fits = dims.len() == 4
                && dims
                    .iter()
                    .zip(expected)
                    .all(|(&d, e)| d < 0 || d as usize == e);
            if !fits {
                return Err(mismatch(
                    model,
                    format!(
                        "input '{}' has shape {dims:?} (-1 = any), the description gives \
                         {expected:?} ({:?} layout)",
                        inputs[0].name(),
                        model.input.layout
                    ),
                ));
            }
        }
        other => {
            return Err(mismatch(
                model,
                format!(
                    "input '{}' is {other:?}, expected a tensor",
                    inputs[0].name()
                ),
            ))
        }
    }
    if session.outputs().len() != 1 {
        return Err(mismatch(
            model,
            format!(
                "the network has {} outputs; expected one tensor of {} values",
                session.outputs().len(),
                model.output.count
            ),
        ));
    }
    Ok(())
}

impl Backend for OrtBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Ort
    }

    fn device(&self) -> Device {
        self.device
    }

    fn input(&mut self) -> &mut [f32] {
        self.input.extract_tensor_mut().1
    }

    fn infer(&mut self) -> Result<&[f32], BackendError> {
        let outputs = match &self.preallocated {
            Some(options) => self
                .session
                .run_with_options(ort::inputs![&self.input], options),
            None => self.session.run(ort::inputs![&self.input]),
        }
        .map_err(|e| BackendError::Inference(e.to_string()))?;
        let (_, values) = outputs[0]
            .try_extract_tensor::<f32>()
            .map_err(|e| BackendError::Inference(format!("output is not an f32 tensor: {e}")))?;
        self.output.clear();
        self.output.extend_from_slice(values);
        Ok(&self.output)
    }
}
