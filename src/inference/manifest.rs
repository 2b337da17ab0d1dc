//! The model catalogue: `models/manifest.yaml`, written by the factory (`pilotnet_factory.build`).
//!
//! It lists every variant of the study (file, backend, precision, sha256, size, test-set MSE,
//! sparsity) and the dataset and training settings they came from. Only some variants are
//! shipped in `models/` (`shipped: true`); the factory makes the rest. This module reads the
//! catalogue, finds a variant by name (`--model static_int8`) and checks shipped files against
//! their recorded sha256 and size, and their descriptions against the training's label range.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::inference::backend::BackendKind;
use crate::inference::model::{Description, ModelError};

/// File name of the catalogue inside a models folder.
pub const MANIFEST_FILE: &str = "manifest.yaml";

/// Why the catalogue or one of its models is unusable.
#[derive(Debug, Error)]
pub enum ManifestError {
    /// The catalogue could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The YAML does not parse or has unknown or missing keys.
    #[error("model catalogue {path} is malformed: {message}")]
    Yaml {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// No variant has that name.
    #[error("no model named '{name}' in {path} (known: {known})")]
    UnknownName {
        /// The name asked for.
        name: String,
        /// The catalogue.
        path: PathBuf,
        /// The names it holds.
        known: String,
    },
    /// The variant is made by the factory, not shipped.
    #[error(
        "model '{name}' is not shipped in {dir}: build it with `python -m pilotnet_factory.build` \
         (see docs/factory.md) and pass its path"
    )]
    NotShipped {
        /// The variant.
        name: String,
        /// The models folder.
        dir: PathBuf,
    },
    /// A shipped file differs from what the catalogue recorded.
    #[error("{path}: {what} (the catalogue records what the factory wrote; rebuild or re-fetch)")]
    Mismatch {
        /// The model or description file.
        path: PathBuf,
        /// What differs.
        what: String,
    },
    /// A shipped description does not load.
    #[error(transparent)]
    Description(#[from] ModelError),
}

/// One variant of the study.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// Short name (`fp32`, `static_int8`, `ts_qat`, ...).
    pub name: String,
    /// File name inside the models folder.
    pub file: String,
    /// The engine the factory measured it on (`ort` or `tch` in the file); ONNX variants also
    /// run on tract.
    pub backend: BackendKind,
    /// Numeric precision, in words.
    pub precision: String,
    /// The study's name for the method.
    pub method: String,
    /// Whether the file is committed in `models/`.
    #[serde(default)]
    pub shipped: bool,
    /// Hex sha256 of the file.
    pub sha256: String,
    /// Size in bytes.
    pub size_bytes: u64,
    /// Size in MB (10^6 bytes).
    pub size_mb: f64,
    /// Description file beside the model.
    pub description: String,
    /// Hex sha256 of the description.
    pub description_sha256: String,
    /// MSE of the normalised outputs on the held-out test set (`pilotnet-brain bench`).
    pub test_mse: f64,
    /// Mean inference time the factory measured (ms; machine-dependent, see docs/factory.md).
    pub inference_ms_mean: f64,
    /// Fraction of zero weights (pruned variants).
    #[serde(default)]
    pub sparsity: Option<f64>,
    /// Epochs of quantisation-aware fine-tuning (QAT variants).
    #[serde(default)]
    pub qat_epochs: Option<u32>,
    /// Steering trim in this variant's own description, rad/s (`pilotnet_factory.trim`); absent
    /// where the variant carries the trained network's.
    #[serde(default)]
    pub steering_trim_rad_s: Option<f64>,
    /// How the variant's trim was measured, as recorded.
    #[serde(default)]
    pub steering_trim: serde_yaml::Value,
}

/// The catalogue.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The datasets (circuits, frames, seed, summary), as recorded.
    pub dataset: serde_yaml::Value,
    /// Training settings and label range, as recorded.
    pub training: Training,
    /// How to use the TensorRT settings.
    #[serde(default)]
    pub tensorrt: BTreeMap<String, String>,
    /// Every variant.
    pub variants: Vec<Variant>,
    /// Where the catalogue was read from (not in the file).
    #[serde(skip)]
    pub dir: PathBuf,
}

/// What the catalogue says about training.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Training {
    /// TrainConfig, as recorded.
    pub config: serde_yaml::Value,
    /// Min-max label range (`v_min`, `v_max`, `w_min`, `w_max`).
    pub label_range: LabelRange,
    /// Test-set MSE of the trained fp32 network (PyTorch).
    pub test_mse: f64,
    /// Wall time of the training run, seconds.
    #[serde(default)]
    pub seconds: Option<f64>,
    /// The on-policy rounds that refined the trained network, in order
    /// (`pilotnet_factory.onpolicy`; `test_mse` above is the last round's).
    #[serde(default)]
    pub onpolicy: Vec<OnPolicyRound>,
    /// Steering trim added to the w output's offset, rad/s (pilotnet_factory.trim).
    #[serde(default)]
    pub steering_trim_rad_s: f64,
    /// How the trim was measured, as recorded.
    #[serde(default)]
    pub steering_trim: serde_yaml::Value,
}

/// One round of on-policy refinement: the network drove, the expert labelled, the network
/// trained further on every set so far.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnPolicyRound {
    /// Training samples of the round (the training set and every on-policy set so far).
    pub samples: u64,
    /// Epochs of the round.
    pub epochs: u32,
    /// Adam's starting learning rate (cosine decay).
    pub learning_rate: f64,
    /// Seed of the round's shuffling and of its recording.
    pub seed: u64,
    /// Test-set MSE before the round.
    pub test_mse_before: f64,
    /// Test-set MSE after the round.
    pub test_mse: f64,
    /// Wall time of the round's training, seconds.
    #[serde(default)]
    pub seconds: Option<f64>,
}

/// Min-max normalisation range of the labels.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelRange {
    /// Smallest v, m/s.
    pub v_min: f64,
    /// Largest v, m/s.
    pub v_max: f64,
    /// Smallest w, rad/s.
    pub w_min: f64,
    /// Largest w, rad/s.
    pub w_max: f64,
}

impl Manifest {
    /// The models folder of this checkout (`PILOTNET_MODELS` overrides it).
    pub fn default_dir() -> PathBuf {
        std::env::var_os("PILOTNET_MODELS")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/models")))
    }

    /// Reads `dir/manifest.yaml`.
    pub fn read(dir: &Path) -> Result<Manifest, ManifestError> {
        let path = dir.join(MANIFEST_FILE);
        let text = std::fs::read_to_string(&path).map_err(|source| ManifestError::Io {
            path: path.clone(),
            source,
        })?;
        let mut manifest: Manifest =
            serde_yaml::from_str(&text).map_err(|e| ManifestError::Yaml {
                path: path.clone(),
                message: e.to_string(),
            })?;
        manifest.dir = dir.to_path_buf();
        Ok(manifest)
    }

    /// The variant called `name`.
    pub fn variant(&self, name: &str) -> Result<&Variant, ManifestError> {
        self.variants
            .iter()
            .find(|v| v.name == name)
            .ok_or_else(|| ManifestError::UnknownName {
                name: name.to_string(),
                path: self.dir.join(MANIFEST_FILE),
                known: self
                    .variants
                    .iter()
                    .map(|v| v.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The shipped variants.
    pub fn shipped(&self) -> impl Iterator<Item = &Variant> {
        self.variants.iter().filter(|v| v.shipped)
    }

    /// Path of a shipped variant's model file.
    pub fn path_of(&self, name: &str) -> Result<PathBuf, ManifestError> {
        let v = self.variant(name)?;
        if !v.shipped {
            return Err(ManifestError::NotShipped {
                name: v.name.clone(),
                dir: self.dir.clone(),
            });
        }
        Ok(self.dir.join(&v.file))
    }

    /// Checks a shipped variant: size and sha256 of the model and its description, the
    /// description loads, and its output mapping is the training's label range (w shifted by
    /// the steering trim).
    pub fn verify(&self, v: &Variant) -> Result<(), ManifestError> {
        let model = self.dir.join(&v.file);
        let (size, digest) = size_and_sha256(&model)?;
        if size != v.size_bytes {
            return Err(mismatch(
                &model,
                format!("{size} bytes, catalogue says {}", v.size_bytes),
            ));
        }
        if digest != v.sha256 {
            return Err(mismatch(
                &model,
                format!("sha256 {digest}, catalogue says {}", v.sha256),
            ));
        }
        let yaml = self.dir.join(&v.description);
        let (_, digest) = size_and_sha256(&yaml)?;
        if digest != v.description_sha256 {
            return Err(mismatch(
                &yaml,
                format!("sha256 {digest}, catalogue says {}", v.description_sha256),
            ));
        }
        let d = Description::read(&yaml)?;
        let r = self.training.label_range;
        let trim = v
            .steering_trim_rad_s
            .unwrap_or(self.training.steering_trim_rad_s);
        let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * (1.0 + b.abs());
        let (ov, ow) = (&d.output.v, &d.output.w);
        if !(close(ov.offset, r.v_min)
            && close(ov.scale, r.v_max - r.v_min)
            && close(ow.offset, r.w_min + trim)
            && close(ow.scale, r.w_max - r.w_min))
        {
            return Err(mismatch(
                &yaml,
                format!(
                    "output mapping v {}+{}·p, w {}+{}·p is not the training label range \
                     {r:?} with a steering trim of {trim} rad/s",
                    ov.offset, ov.scale, ow.offset, ow.scale
                ),
            ));
        }
        Ok(())
    }
}

fn mismatch(path: &Path, what: String) -> ManifestError {
    ManifestError::Mismatch {
        path: path.to_path_buf(),
        what,
    }
}

/// Size and hex sha256 of a file.
fn size_and_sha256(path: &Path) -> Result<(u64, String), ManifestError> {
    let io = |source| ManifestError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        size += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((size, format!("{:x}", hasher.finalize())))
}

/// A model named by the user (CLI `--model`, the ROS `model` parameter): an existing path, or
/// anything with an extension or a folder, as it is; a bare name is a shipped variant of the
/// catalogue in [`Manifest::default_dir`].
pub fn resolve_model(arg: &Path) -> Result<PathBuf, ManifestError> {
    let bare = arg.extension().is_none() && arg.components().count() == 1;
    if arg.exists() || !bare {
        return Ok(arg.to_path_buf());
    }
    Manifest::read(&Manifest::default_dir())?.path_of(&arg.to_string_lossy())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One way to write the test catalogue; the defaults make a faithful one.
    struct Case<'a> {
        /// sha256 the manifest records for the model (default: the file's own).
        model_sha: Option<&'a str>,
        /// The w offset of the description's output mapping.
        w_offset: f64,
        /// The largest w of the manifest's label range.
        label_w_max: f64,
        /// Extra lines under `training:`.
        training: &'a str,
        /// Extra fields of the fp32 entry (`, key: value`).
        variant: &'a str,
    }

    impl Default for Case<'_> {
        fn default() -> Self {
            Case {
                model_sha: None,
                w_offset: -4.0,
                label_w_max: 4.0,
                training: "",
                variant: "",
            }
        }
    }

    /// Writes a catalogue into `dir`: a shipped fp32 ONNX file with its description (the
    /// Behavior Metrics one with this catalogue's output mapping: v in [3, 13], w in
    /// [-4, 4]) and an unshipped QAT entry, and reads it back.
    fn catalogue(dir: &Path, case: Case) -> Result<Manifest, ManifestError> {
        let input = &crate::inference::model::tests::BM
            [..crate::inference::model::tests::BM.find("output:").unwrap()];
        let description = format!(
            "{input}output:\n  count: 2\n  v: {{index: 0, scale: 10.0, offset: 3.0}}\n  \
             w: {{index: 1, scale: 8.0, offset: {}}}\n",
            case.w_offset
        );
        std::fs::write(dir.join("m.onnx"), b"not really a model").unwrap();
        std::fs::write(dir.join("m.yaml"), description).unwrap();
        let model_sha = case
            .model_sha
            .map_or_else(|| sha_of(&dir.join("m.onnx")), str::to_string);
        let yaml_sha = sha_of(&dir.join("m.yaml"));
        let text = format!(
            "dataset: {{}}
training:
  config: {{epochs: 1}}
  label_range: {{v_min: 3.0, v_max: 13.0, w_min: -4.0, w_max: {w_max}}}
  test_mse: 0.01
{training}variants:
- {{name: fp32, file: m.onnx, backend: ort, precision: fp32, method: Baseline, shipped: true,
   sha256: {model_sha}, size_bytes: 18, size_mb: 0.0, description: m.yaml,
   description_sha256: {yaml_sha}, test_mse: 0.01, inference_ms_mean: 1.0{variant}}}
- {{name: qat, file: q.onnx, backend: ort, precision: int8, method: QAT, shipped: false,
   sha256: x, size_bytes: 1, size_mb: 0.0, description: q.yaml, description_sha256: x,
   test_mse: 0.01, inference_ms_mean: 1.0}}
",
            w_max = case.label_w_max,
            training = case.training,
            variant = case.variant,
        );
        std::fs::write(dir.join(MANIFEST_FILE), text).unwrap();
        Manifest::read(dir)
    }

    fn sha_of(path: &Path) -> String {
        size_and_sha256(path).unwrap().1
    }

    /// The error `verify` gives for the catalogue's fp32 model.
    fn verify_error(m: &Manifest) -> String {
        m.verify(&m.variants[0]).unwrap_err().to_string()
    }

    #[test]
    fn sha256_of_a_known_input() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("abc");
        std::fs::write(&path, b"abc").unwrap();
        assert_eq!(
            sha_of(&path),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn a_faithful_catalogue_verifies_and_resolves_names() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = catalogue(dir.path(), Case::default()).unwrap();
        for v in manifest.shipped() {
            manifest.verify(v).unwrap();
        }
        assert_eq!(manifest.path_of("fp32").unwrap(), dir.path().join("m.onnx"));
        let e = manifest.path_of("qat").unwrap_err().to_string();
        assert!(e.contains("not shipped"), "{e}");
        let e = manifest.path_of("fp8").unwrap_err().to_string();
        assert!(
            e.contains("no model named 'fp8'") && e.contains("fp32, qat"),
            "{e}"
        );
    }

    #[test]
    fn a_changed_file_or_range_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let changed = Case {
            model_sha: Some("0123"),
            ..Case::default()
        };
        let e = verify_error(&catalogue(dir.path(), changed).unwrap());
        assert!(
            e.contains("m.onnx") && e.contains("catalogue says 0123"),
            "{e}"
        );
        let wider = Case {
            label_w_max: 5.0,
            ..Case::default()
        };
        let e = verify_error(&catalogue(dir.path(), wider).unwrap());
        assert!(e.contains("m.yaml") && e.contains("label range"), "{e}");
    }

    #[test]
    fn the_steering_trim_shifts_the_expected_w_offset() {
        let dir = tempfile::tempdir().unwrap();
        let trimmed = Case {
            w_offset: -3.5,
            training: "  steering_trim_rad_s: 0.5\n",
            ..Case::default()
        };
        let manifest = catalogue(dir.path(), trimmed).unwrap();
        manifest.verify(&manifest.variants[0]).unwrap();
        let untrimmed = Case {
            w_offset: -3.5,
            ..Case::default()
        };
        let e = verify_error(&catalogue(dir.path(), untrimmed).unwrap());
        assert!(e.contains("steering trim of 0"), "{e}");
        // A variant trimmed on its own: its trim, not the network's, is in its description.
        let own = Case {
            w_offset: -3.75,
            training: "  steering_trim_rad_s: 0.5\n",
            variant: ", steering_trim_rad_s: 0.25",
            ..Case::default()
        };
        let manifest = catalogue(dir.path(), own).unwrap();
        manifest.verify(&manifest.variants[0]).unwrap();
        let stale = Case {
            w_offset: -3.5,
            training: "  steering_trim_rad_s: 0.5\n",
            variant: ", steering_trim_rad_s: 0.25",
            ..Case::default()
        };
        let e = verify_error(&catalogue(dir.path(), stale).unwrap());
        assert!(e.contains("steering trim of 0.25"), "{e}");
    }

    #[test]
    fn unknown_keys_are_rejected() {
        let dir = tempfile::tempdir().unwrap();
        let typo = Case {
            training: "  lr: 1\n",
            ..Case::default()
        };
        let e = catalogue(dir.path(), typo).unwrap_err().to_string();
        assert!(e.contains("malformed") && e.contains("lr"), "{e}");
    }

    #[test]
    fn on_policy_rounds_are_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let round = "  - {samples: 45000, epochs: 3, learning_rate: 0.0003, seed: 21, \
                     test_mse_before: 0.005, test_mse: 0.004, seconds: 465.4}\n";
        let refined = Case {
            training: &format!("  onpolicy:\n{round}"),
            ..Case::default()
        };
        let m = catalogue(dir.path(), refined).unwrap();
        assert_eq!(m.training.onpolicy.len(), 1);
        assert_eq!(m.training.onpolicy[0].samples, 45000);
        assert_eq!(m.training.onpolicy[0].test_mse, 0.004);
        let typo = Case {
            training: "  onpolicy:\n  - {samples: 1, epochs: 1, learning_rate: 0.1, seed: 1, \
                       test_mse_before: 0.1, test_mse: 0.1, frames: 3}\n",
            ..Case::default()
        };
        let e = catalogue(dir.path(), typo).unwrap_err().to_string();
        assert!(e.contains("malformed") && e.contains("frames"), "{e}");
    }
}
