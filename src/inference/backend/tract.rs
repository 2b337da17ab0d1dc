//! tract backend (`tract`, feature `tract`): ONNX models on the CPU in pure Rust.
//!
//! Nothing to install: the engine is compiled into the binary, so a fresh checkout drives the
//! shipped network with no runtime library. [`super::open`] picks it for ONNX models when
//! ONNX Runtime's library is not found. The graph is typed for the description's input shape
//! and optimised once at load; each frame copies the input buffer into a tensor (a few
//! microseconds for PilotNet's 200x66x3) and runs the plan's reusable state.

use tract_linalg::multithread::{multithread_tract_scope, Executor};
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;

use super::{mismatch, Backend, BackendConfig, BackendError, BackendKind, Device};
use crate::inference::model::Model;

/// An optimised tract plan of an ONNX model.
pub struct TractBackend {
    state: TypedSimpleState,
    shape: [usize; 4],
    input: Vec<f32>,
    output: Vec<f32>,
    executor: Executor,
}

impl TractBackend {
    /// Loads and optimises `model` for `config`'s thread count (CPU only).
    pub fn open(model: &Model, config: &BackendConfig) -> Result<TractBackend, BackendError> {
        if config.device != Device::Cpu {
            return Err(BackendError::UnsupportedDevice {
                backend: "tract",
                device: config.device.to_string(),
                supported: "cpu; CUDA and TensorRT run through ort",
            });
        }
        let shape = model.input.shape();
        let state = without_panics(|| Self::plan(model, shape)).unwrap_or_else(|panic| {
            Err(BackendError::Load {
                path: model.path.clone(),
                reason: format!("tract failed on this model's graph: {panic}"),
            })
        })?;
        let executor = if config.threads > 1 {
            Executor::multithread(config.threads)
        } else {
            Executor::SingleThread
        };
        Ok(TractBackend {
            state,
            shape,
            input: vec![0.0; model.input.len()],
            output: Vec::with_capacity(model.output.count),
            executor,
        })
    }

    /// The model's graph, checked against its description, typed, optimised, made runnable.
    fn plan(model: &Model, shape: [usize; 4]) -> Result<TypedSimpleState, BackendError> {
        let load = |e: TractError| BackendError::Load {
            path: model.path.clone(),
            reason: format!("tract: {e:#}"),
        };
        let mut graph = tract_onnx::onnx()
            .model_for_path(&model.path)
            .map_err(load)?;
        if graph.inputs.len() != 1 || graph.outputs.is_empty() {
            return Err(mismatch(
                model,
                format!(
                    "the network has {} inputs and {} outputs; one image input is expected",
                    graph.inputs.len(),
                    graph.outputs.len()
                ),
            ));
        }
        check_input(model, graph.input_fact(0).map_err(load)?)?;
        graph
            .set_input_fact(0, f32::fact(shape).into())
            .map_err(load)?;
        let plan = graph
            .into_optimized()
            .and_then(|typed| typed.into_runnable())
            .map_err(load)?;
        plan.spawn().map_err(load)
    }

    fn run(&mut self) -> TractResult<()> {
        let input = Tensor::from_shape(&self.shape, &self.input)?;
        let state = &mut self.state;
        let outputs =
            multithread_tract_scope(self.executor.clone(), || state.run(tvec!(input.into())))?;
        let first = outputs[0].cast_to::<f32>()?;
        let values = first.try_as_plain_ram()?.as_slice::<f32>()?;
        self.output.clear();
        self.output.extend_from_slice(values);
        Ok(())
    }
}

/// The network's declared input against the description: element type f32, and every
/// dimension the file fixes equal to the description's (a symbolic batch passes).
fn check_input(model: &Model, fact: &InferenceFact) -> Result<(), BackendError> {
    if let Some(dt) = fact.datum_type.concretize() {
        if dt != DatumType::F32 {
            return Err(mismatch(
                model,
                format!("the network's input is {dt:?}; the preprocessing writes f32"),
            ));
        }
    }
    let want = model.input.shape();
    let dims: Vec<Option<usize>> = fact
        .shape
        .dims()
        .map(|d| d.concretize().and_then(|d| d.as_i64()).map(|d| d as usize))
        .collect();
    let rank_differs = !fact.shape.is_open() && dims.len() != want.len();
    let dim_differs = dims
        .iter()
        .zip(want)
        .any(|(got, want)| got.is_some_and(|g| g != want));
    if rank_differs || dim_differs {
        let shown: Vec<String> = dims
            .iter()
            .map(|d| d.map_or("?".into(), |d| d.to_string()))
            .collect();
        return Err(mismatch(
            model,
            format!(
                "the network's input is [{}], the description's {want:?}",
                shown.join(", ")
            ),
        ));
    }
    Ok(())
}

impl Backend for TractBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Tract
    }

    fn device(&self) -> Device {
        Device::Cpu
    }

    fn input(&mut self) -> &mut [f32] {
        &mut self.input
    }

    fn infer(&mut self) -> Result<&[f32], BackendError> {
        without_panics(|| self.run())
            .map_err(|panic| BackendError::Inference(format!("tract failed: {panic}")))?
            .map_err(|e| BackendError::Inference(format!("tract: {e:#}")))?;
        Ok(&self.output)
    }
}

/// Runs `f`, turning a panic inside tract (it asserts on graphs it cannot analyse, as
/// damaged files make) into its message: a bad model is an error, never a crash.
fn without_panics<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic".into())
    })
}
