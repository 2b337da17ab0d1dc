//! Model descriptions: what a network file expects and returns.
//!
//! Every model file has a YAML description beside it (`pilotnet.onnx` → `pilotnet.yaml`): the
//! camera frame it was trained on, the crop and resize, colour order, scaling, tensor layout,
//! and how its outputs map to (v, w). Descriptions are validated when read; the backend then
//! checks the network against them when it loads (wrong input shape or output count = error).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

/// Why a model description or model path is unusable.
#[derive(Debug, Error)]
pub enum ModelError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The YAML does not parse or has unknown or missing keys.
    #[error("model description {path} is malformed: {message}")]
    Yaml {
        /// The file.
        path: PathBuf,
        /// The parser's message (it names the key and line).
        message: String,
    },
    /// The values contradict each other or are out of range.
    #[error("model description {path}: {what}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// A model file has no description beside it.
    #[error(
        "model {model} has no description: expected {expected} beside it (see the README, \
         'Model description'; pilotnet_factory writes one with every export)"
    )]
    MissingDescription {
        /// The model file.
        model: PathBuf,
        /// Where the description was looked for.
        expected: PathBuf,
    },
    /// The model file's format could not be told from its name.
    #[error(
        "cannot tell the format of {0}: name ONNX models *.onnx and TorchScript models *.pt or \
         *.ts, or set 'format' in the description"
    )]
    UnknownFormat(PathBuf),
}

/// Serialized network format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelFormat {
    /// ONNX (`.onnx`), run by ONNX Runtime.
    Onnx,
    /// TorchScript (`.pt`, `.ts`), run by libtorch.
    Torchscript,
}

impl ModelFormat {
    /// The format a file name implies, if any.
    pub fn from_path(path: &Path) -> Option<ModelFormat> {
        match path.extension()?.to_str()? {
            "onnx" => Some(ModelFormat::Onnx),
            "pt" | "ts" | "torchscript" => Some(ModelFormat::Torchscript),
            _ => None,
        }
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ModelFormat::Onnx => "onnx",
            ModelFormat::Torchscript => "torchscript",
        }
    }
}

/// Width and height in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Size {
    /// Pixels across.
    pub width: u32,
    /// Pixels down.
    pub height: u32,
}

/// Rectangle of the camera frame the network sees: rows `top..bottom`, columns `left..right`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Crop {
    /// First row kept.
    pub top: u32,
    /// One past the last row kept.
    pub bottom: u32,
    /// First column kept.
    pub left: u32,
    /// One past the last column kept.
    pub right: u32,
}

impl Crop {
    /// The crop's size.
    pub fn size(&self) -> Size {
        Size {
            width: self.right.saturating_sub(self.left),
            height: self.bottom.saturating_sub(self.top),
        }
    }
}

/// Channel order of the network input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ColorOrder {
    /// Red, green, blue (PyTorch/PIL convention; Behavior Metrics' PyTorch brain).
    Rgb,
    /// Blue, green, red (OpenCV's native order).
    Bgr,
}

/// How 8-bit pixel values become network inputs. In YAML: `unit`, `raw`, or
/// `{normalize: {mean: [r, g, b], std: [r, g, b]}}`.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(try_from = "ScalingYaml", into = "ScalingYaml")]
pub enum Scaling {
    /// `x / 255`, in [0, 1] (torchvision's `ToTensor`; Behavior Metrics).
    Unit,
    /// `x`, in [0, 255].
    Raw,
    /// `(x / 255 - mean[c]) / std[c]` per channel (in the network's channel order).
    Normalize {
        /// Per-channel mean.
        mean: [f32; 3],
        /// Per-channel standard deviation.
        std: [f32; 3],
    },
}

/// The YAML spelling of [`Scaling`].
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(untagged)]
enum ScalingYaml {
    Name(String),
    Normalize { normalize: NormalizeYaml },
}

#[derive(Debug, Clone, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
struct NormalizeYaml {
    mean: [f32; 3],
    std: [f32; 3],
}

impl TryFrom<ScalingYaml> for Scaling {
    type Error = String;
    fn try_from(y: ScalingYaml) -> Result<Self, String> {
        match y {
            ScalingYaml::Name(n) if n == "unit" => Ok(Scaling::Unit),
            ScalingYaml::Name(n) if n == "raw" => Ok(Scaling::Raw),
            ScalingYaml::Name(n) => Err(format!(
                "unknown scaling '{n}' (expected unit, raw or {{normalize: {{mean: [..], std: [..]}}}})"
            )),
            ScalingYaml::Normalize {
                normalize: NormalizeYaml { mean, std },
            } => Ok(Scaling::Normalize { mean, std }),
        }
    }
}

impl From<Scaling> for ScalingYaml {
    fn from(s: Scaling) -> Self {
        match s {
            Scaling::Unit => ScalingYaml::Name("unit".into()),
            Scaling::Raw => ScalingYaml::Name("raw".into()),
            Scaling::Normalize { mean, std } => ScalingYaml::Normalize {
                normalize: NormalizeYaml { mean, std },
            },
        }
    }
}

/// Input tensor layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// Batch, channels, height, width (PyTorch).
    Nchw,
    /// Batch, height, width, channels (TensorFlow/Keras).
    Nhwc,
}

/// What the network takes.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// Camera frame size the crop refers to.
    pub frame: Size,
    /// Part of the frame the network sees.
    pub crop: Crop,
    /// Size the crop is resized to (bilinear), the network's input size.
    pub size: Size,
    /// Channel order.
    pub color: ColorOrder,
    /// Pixel scaling.
    pub scaling: Scaling,
    /// Tensor layout.
    pub layout: Layout,
}

impl InputSpec {
    /// Behavior Metrics' PyTorch PilotNet input: rows 240–480 of a 640×480 frame, 200×66,
    /// RGB in [0, 1], NCHW.
    pub fn behavior_metrics() -> InputSpec {
        InputSpec {
            frame: Size {
                width: 640,
                height: 480,
            },
            crop: Crop {
                top: 240,
                bottom: 480,
                left: 0,
                right: 640,
            },
            size: Size {
                width: 200,
                height: 66,
            },
            color: ColorOrder::Rgb,
            scaling: Scaling::Unit,
            layout: Layout::Nchw,
        }
    }

    /// The input tensor's shape, batch 1, in its layout.
    pub fn shape(&self) -> [usize; 4] {
        let (h, w) = (self.size.height as usize, self.size.width as usize);
        match self.layout {
            Layout::Nchw => [1, 3, h, w],
            Layout::Nhwc => [1, h, w, 3],
        }
    }

    /// Number of f32 values in the input tensor.
    pub fn len(&self) -> usize {
        self.shape().iter().product()
    }

    /// Whether the input tensor is empty (never, for a validated description).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One output mapped to a physical quantity: `value = raw[index] * scale + offset`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct OutputMap {
    /// Position in the network's flattened output.
    pub index: usize,
    /// Multiplier.
    pub scale: f64,
    /// Added after scaling.
    #[serde(default)]
    pub offset: f64,
}

impl OutputMap {
    /// Raw network output → physical value.
    pub fn apply(&self, raw: f32) -> f64 {
        raw as f64 * self.scale + self.offset
    }

    /// Physical value → raw (normalised label space).
    pub fn invert(&self, value: f64) -> f64 {
        (value - self.offset) / self.scale
    }
}

/// Integer output codes back to the network's normalised outputs: `(q - zero_point) * scale`
/// (an integer-only network returns its quantised codes).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Dequantize {
    /// Quantisation step.
    pub scale: f64,
    /// The code of zero.
    pub zero_point: f64,
}

/// What the network returns.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// Number of values in the output tensor.
    pub count: usize,
    /// Linear velocity, m/s.
    pub v: OutputMap,
    /// Angular velocity, rad/s.
    pub w: OutputMap,
    /// Dequantisation of integer outputs, applied before `v` and `w`'s mappings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dequantize: Option<Dequantize>,
}

impl OutputSpec {
    /// Output `index` in the normalised space the `v`/`w` mappings start from.
    pub fn normalised(&self, raw: &[f32], index: usize) -> f64 {
        let x = raw[index] as f64;
        match self.dequantize {
            Some(d) => (x - d.zero_point) * d.scale,
            None => x,
        }
    }

    /// Linear velocity from the raw outputs, m/s.
    pub fn v_of(&self, raw: &[f32]) -> f64 {
        self.normalised(raw, self.v.index) * self.v.scale + self.v.offset
    }

    /// Angular velocity from the raw outputs, rad/s.
    pub fn w_of(&self, raw: &[f32]) -> f64 {
        self.normalised(raw, self.w.index) * self.w.scale + self.w.offset
    }
}

/// A model description as written in YAML.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Description {
    /// Model file, relative to the description (default: the description's name with the
    /// extension of the format: `.onnx`, else `.pt`).
    #[serde(default)]
    pub file: Option<PathBuf>,
    /// Format (default: from the model file's extension).
    #[serde(default)]
    pub format: Option<ModelFormat>,
    /// Network input.
    pub input: InputSpec,
    /// Network output.
    pub output: OutputSpec,
}

/// A model file with its validated description.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// The network file.
    pub path: PathBuf,
    /// Its format.
    pub format: ModelFormat,
    /// The description file it came with.
    pub description_path: PathBuf,
    /// Input expectations.
    pub input: InputSpec,
    /// Output mapping.
    pub output: OutputSpec,
}

impl Model {
    /// Opens a model from either its file (`x.onnx`, `x.pt`: the description is `x.yaml`) or
    /// its description (`x.yaml`).
    pub fn open(path: &Path) -> Result<Model, ModelError> {
        let is_yaml = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        );
        if is_yaml {
            let desc = Description::read(path)?;
            let model_path = match &desc.file {
                Some(f) => path.parent().unwrap_or(Path::new("")).join(f),
                None => {
                    let guess = |ext| path.with_extension(ext);
                    match desc.format {
                        Some(ModelFormat::Onnx) => guess("onnx"),
                        Some(ModelFormat::Torchscript) => guess("pt"),
                        None if guess("onnx").exists() => guess("onnx"),
                        None => guess("pt"),
                    }
                }
            };
            Self::from_parts(model_path, path.to_path_buf(), desc)
        } else {
            let description_path = path.with_extension("yaml");
            if !description_path.exists() {
                if !path.exists() {
                    return Err(ModelError::Io {
                        path: path.to_path_buf(),
                        source: std::io::Error::from(std::io::ErrorKind::NotFound),
                    });
                }
                return Err(ModelError::MissingDescription {
                    model: path.to_path_buf(),
                    expected: description_path,
                });
            }
            let desc = Description::read(&description_path)?;
            Self::from_parts(path.to_path_buf(), description_path, desc)
        }
    }

    fn from_parts(
        path: PathBuf,
        description_path: PathBuf,
        desc: Description,
    ) -> Result<Model, ModelError> {
        let format = match (desc.format, ModelFormat::from_path(&path)) {
            (Some(f), _) => f,
            (None, Some(f)) => f,
            (None, None) => return Err(ModelError::UnknownFormat(path)),
        };
        if !path.is_file() {
            return Err(ModelError::Io {
                path,
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            });
        }
        Ok(Model {
            path,
            format,
            description_path,
            input: desc.input,
            output: desc.output,
        })
    }

    /// Model file size, bytes.
    pub fn file_size(&self) -> Result<u64, ModelError> {
        std::fs::metadata(&self.path)
            .map(|m| m.len())
            .map_err(|source| ModelError::Io {
                path: self.path.clone(),
                source,
            })
    }

    /// A short name for reports: the file name.
    pub fn name(&self) -> String {
        self.path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| self.path.display().to_string())
    }
}

impl Description {
    /// Reads and validates a description file.
    pub fn read(path: &Path) -> Result<Description, ModelError> {
        let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses and validates description text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Description, ModelError> {
        let desc: Description = serde_yaml::from_str(text).map_err(|e| ModelError::Yaml {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        desc.validate()
            .map_err(|what| ModelError::Invalid {
                path: path.to_path_buf(),
                what,
            })
            .map(|()| desc)
    }

    fn validate(&self) -> Result<(), String> {
        let i = &self.input;
        let (f, c, s) = (i.frame, i.crop, i.size);
        if f.width == 0 || f.height == 0 {
            return Err(format!(
                "input.frame is {}x{}: must be positive",
                f.width, f.height
            ));
        }
        if c.left >= c.right || c.top >= c.bottom || c.right > f.width || c.bottom > f.height {
            return Err(format!(
                "input.crop rows {}..{}, columns {}..{} is empty or outside the {}x{} frame",
                c.top, c.bottom, c.left, c.right, f.width, f.height
            ));
        }
        if s.width == 0 || s.height == 0 || s.width > 8192 || s.height > 8192 {
            return Err(format!(
                "input.size is {}x{}: must be 1..8192 on each side",
                s.width, s.height
            ));
        }
        if let Scaling::Normalize { mean, std } = &i.scaling {
            if mean.iter().chain(std).any(|v| !v.is_finite()) || std.iter().any(|v| *v <= 0.0) {
                return Err(format!(
                    "input.scaling normalize needs finite means and positive stds, got mean \
                     {mean:?} std {std:?}"
                ));
            }
        }
        let o = &self.output;
        if o.count == 0 {
            return Err("output.count must be at least 1".into());
        }
        for (name, m) in [("v", &o.v), ("w", &o.w)] {
            if m.index >= o.count {
                return Err(format!(
                    "output.{name}.index {} is outside output.count {}",
                    m.index, o.count
                ));
            }
            if !m.scale.is_finite() || m.scale == 0.0 || !m.offset.is_finite() {
                return Err(format!(
                    "output.{name} needs a finite non-zero scale and a finite offset, got \
                     scale {} offset {}",
                    m.scale, m.offset
                ));
            }
        }
        if let Some(d) = o.dequantize {
            if !(d.scale.is_finite() && d.scale > 0.0 && d.zero_point.is_finite()) {
                return Err(format!(
                    "output.dequantize needs a finite scale above 0 and a finite zero_point, \
                     got scale {} zero_point {}",
                    d.scale, d.zero_point
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) const BM: &str = "\
input:
  frame: {width: 640, height: 480}
  crop: {top: 240, bottom: 480, left: 0, right: 640}
  size: {width: 200, height: 66}
  color: rgb
  scaling: unit
  layout: nchw
output:
  count: 2
  v: {index: 0, scale: 17.5, offset: 6.5}
  w: {index: 1, scale: 14.2, offset: -7.1}
";

    fn parse(text: &str) -> Result<Description, ModelError> {
        Description::parse(text, Path::new("m.yaml"))
    }

    #[test]
    fn integer_outputs_are_dequantised_before_the_mapping() {
        let d = parse(&format!(
            "{BM}  dequantize: {{scale: 0.5, zero_point: -128}}\n"
        ))
        .unwrap();
        let codes = [-126.0f32, -128.0];
        assert_eq!(d.output.normalised(&codes, 0), 1.0);
        assert!((d.output.v_of(&codes) - 24.0).abs() < 1e-9);
        assert!((d.output.w_of(&codes) + 7.1).abs() < 1e-9);
        assert_eq!(parse(BM).unwrap().output.normalised(&codes, 0), -126.0);
    }

    #[test]
    fn behavior_metrics_description_parses() {
        let d = parse(BM).unwrap();
        assert_eq!(d.input, InputSpec::behavior_metrics());
        assert_eq!(d.input.shape(), [1, 3, 66, 200]);
        assert!((d.output.v.apply(1.0) - 24.0).abs() < 1e-9);
        assert!((d.output.w.apply(0.0) + 7.1).abs() < 1e-9);
        assert!((d.output.w.invert(7.1) - 1.0).abs() < 1e-9);
    }

    #[test]
    fn normalize_scaling_parses() {
        let text = BM.replace(
            "scaling: unit",
            "scaling: {normalize: {mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2]}}",
        );
        assert!(matches!(
            parse(&text).unwrap().input.scaling,
            Scaling::Normalize { .. }
        ));
    }

    #[test]
    fn bad_descriptions_name_the_problem() {
        let cases = [
            (
                BM.replace("color: rgb", "colour: rgb"),
                "unknown field `colour`",
            ),
            (
                BM.replace("layout: nchw", "layout: nwhc"),
                "unknown variant `nwhc`",
            ),
            (
                BM.replace("bottom: 480", "bottom: 500"),
                "outside the 640x480 frame",
            ),
            (
                BM.replace("index: 1,", "index: 2,"),
                "output.w.index 2 is outside",
            ),
            (
                BM.replace("scale: 17.5", "scale: 0"),
                "output.v needs a finite",
            ),
            (
                format!("{BM}  dequantize: {{scale: -1, zero_point: 0}}\n"),
                "output.dequantize needs a finite scale above 0",
            ),
            (BM.replace("width: 200", "width: 0"), "input.size is 0x66"),
            (
                BM.replace("scaling: unit", "scaling: unity"),
                "unknown scaling 'unity'",
            ),
            ("input: [".to_string(), "malformed"),
        ];
        for (text, expected) in cases {
            let err = parse(&text).unwrap_err().to_string();
            assert!(err.contains(expected), "{err:?} lacks {expected:?}");
            assert!(err.contains("m.yaml"), "{err:?} does not name the file");
        }
    }

    #[test]
    fn model_paths_resolve_both_ways() {
        let dir = tempfile::tempdir().unwrap();
        let onnx = dir.path().join("net.onnx");
        std::fs::write(&onnx, b"x").unwrap();
        let err = Model::open(&onnx).unwrap_err();
        assert!(
            matches!(err, ModelError::MissingDescription { .. }),
            "{err}"
        );
        std::fs::write(dir.path().join("net.yaml"), BM).unwrap();
        let a = Model::open(&onnx).unwrap();
        let b = Model::open(&dir.path().join("net.yaml")).unwrap();
        assert_eq!(a, Model { ..b.clone() });
        assert_eq!(a.format, ModelFormat::Onnx);
        let missing = Model::open(&dir.path().join("other.onnx")).unwrap_err();
        assert!(missing.to_string().contains("other.onnx"), "{missing}");
        std::fs::write(dir.path().join("bare.yaml"), BM).unwrap();
        let err = Model::open(&dir.path().join("bare.yaml")).unwrap_err();
        assert!(err.to_string().contains("bare.pt"), "{err}");
    }
}
