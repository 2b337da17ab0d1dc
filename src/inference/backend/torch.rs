//! libtorch backend (`tch`, feature `tch`): TorchScript models on the CPU or a CUDA GPU,
//! quantized TorchScript (fbgemm) included.
//!
//! The binary links libtorch 2.13.0; `build.rs` records its folder as an rpath, so the
//! project-local copy that `scripts/setup-libtorch.sh` installs (or the one `LIBTORCH` names
//! at build time) is found without environment variables.

use tch::{CModule, Kind, Tensor};

use super::{Backend, BackendConfig, BackendError, BackendKind, Device};
use crate::inference::model::Model;

/// A TorchScript module on a device.
pub struct TchBackend {
    module: CModule,
    device: Device,
    torch_device: tch::Device,
    shape: [i64; 4],
    input: Vec<f32>,
    output: Vec<f32>,
}

impl TchBackend {
    /// Loads `model` onto `config`'s device.
    pub fn open(model: &Model, config: &BackendConfig) -> Result<TchBackend, BackendError> {
        let torch_device = match config.device {
            Device::Cpu => tch::Device::Cpu,
            Device::Cuda(i) => {
                if !tch::Cuda::is_available() {
                    return Err(BackendError::Runtime(format!(
                        "device '{}' asked for, but libtorch sees no CUDA GPU (is this a CPU-only \
                         libtorch? scripts/setup-libtorch.sh installs the CPU build)",
                        config.device
                    )));
                }
                tch::Device::Cuda(i as usize)
            }
            Device::TensorRt(_) => {
                return Err(BackendError::UnsupportedDevice {
                    backend: "tch",
                    device: config.device.to_string(),
                    supported: "cpu and cuda[:N]; TensorRT runs ONNX models through ort",
                })
            }
        };
        tch::set_num_threads(config.threads.max(1) as i32);
        // libtorch accepts this once per process, before any parallel work.
        static INTEROP: std::sync::Once = std::sync::Once::new();
        INTEROP.call_once(|| tch::set_num_interop_threads(1));
        let mut module =
            CModule::load_on_device(&model.path, torch_device).map_err(|e| BackendError::Load {
                path: model.path.clone(),
                reason: first_line(&e.to_string()),
            })?;
        module.set_eval();
        let shape = model.input.shape().map(|d| d as i64);
        Ok(TchBackend {
            module,
            device: config.device,
            torch_device,
            shape,
            input: vec![0.0; model.input.len()],
            output: Vec::with_capacity(model.output.count),
        })
    }

    fn run(&mut self) -> Result<(), tch::TchError> {
        let _guard = tch::no_grad_guard();
        let input = Tensor::f_from_slice(&self.input)?
            .f_view(self.shape)?
            .f_to_device(self.torch_device)?;
        let out = self.module.forward_ts(&[input])?;
        let quantized = matches!(out.f_kind()?, Kind::QInt8 | Kind::QUInt8 | Kind::QInt32);
        let out = if quantized { out.f_dequantize()? } else { out };
        let out = out
            .f_to_device(tch::Device::Cpu)?
            .f_to_kind(Kind::Float)?
            .f_contiguous()?;
        let n = out.numel();
        self.output.resize(n, 0.0);
        out.f_copy_data(&mut self.output, n)
    }
}

/// The gist of a libtorch error: it carries C++ frames and TorchScript source after the
/// first line; the Python-style `...Error: reason` line, when there is one, says what failed.
fn first_line(message: &str) -> String {
    let first = message.lines().next().unwrap_or(message).trim();
    let reason = message
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with("RuntimeError:") || l.starts_with("ValueError:"));
    match reason {
        Some(r) if r != first => format!("{first} {r}"),
        _ => first.to_string(),
    }
}

impl Backend for TchBackend {
    fn kind(&self) -> BackendKind {
        BackendKind::Tch
    }

    fn device(&self) -> Device {
        self.device
    }

    fn input(&mut self) -> &mut [f32] {
        &mut self.input
    }

    fn infer(&mut self) -> Result<&[f32], BackendError> {
        self.run()
            .map_err(|e| BackendError::Inference(first_line(&e.to_string())))?;
        Ok(&self.output)
    }
}
