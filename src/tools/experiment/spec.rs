//! An experiment's description: the YAML file naming its models, circuits, directions,
//! repetitions and conditions, read strictly (unknown keys and bad values are errors naming
//! the file and line) and resolved into [`Experiment`], every path relative to the file.

use std::fmt;
use std::marker::PhantomData;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::base::camera::CameraConfig;
use crate::base::settings::InvalidSetting;
use crate::driving::brain::{BrainConfig, Latency};
use crate::inference::backend::{BackendConfig, BackendKind, Device};
use crate::sim::{Look, SimConfig};

use super::ExperimentError;

/// Who drives a cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PilotSetup {
    /// The image-processing expert.
    Expert,
    /// A network: a shipped variant's name or a model file (resolved against the file).
    Network {
        /// The model argument as `--model` takes it, paths made absolute.
        model: String,
        /// The engine and its settings.
        #[serde(skip)]
        backend: BackendConfig,
        /// The engine's settings in words (backend, device, threads), for records.
        engine: String,
    },
}

/// One model (column of the study's tables).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelSetup {
    /// Its name in tables, figures and folder names.
    pub name: String,
    /// Who drives.
    pub pilot: PilotSetup,
}

/// One circuit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CircuitSetup {
    /// Its name in tables, figures and folder names.
    pub name: String,
    /// A built-in name, a lap file or a Gazebo world, as `sim --circuit` takes it.
    pub source: String,
    /// The perfect lap Behavior Metrics' scores are measured against, if not the circuit's.
    pub reference: Option<PathBuf>,
    /// Simulated-time limit of a run, seconds (default: 60 + 1 s per 3 m of the laps).
    pub timeout_s: Option<f64>,
}

/// One set of conditions: how compute time shows, and what the camera sees.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Condition {
    /// Its name in tables, figures and folder names.
    pub name: String,
    /// The latency model, as `sim --latency` spells it.
    pub latency: String,
    /// Camera frame rate, Hz.
    pub camera_hz: Option<f64>,
    /// Per-pixel sensor noise amplitude (0–255 units).
    pub noise: f32,
    /// Light level (1 = nominal).
    pub brightness: f32,
    /// Ground texture amplitude (0–255 units).
    pub texture: f32,
    /// No frame for this long stops the car, milliseconds.
    pub stall_timeout_ms: Option<f64>,
}

/// A whole experiment, resolved: what [`super::Matrix`] expands into cells.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    /// Its name.
    pub name: String,
    /// What it is for, in a sentence or two.
    pub description: String,
    /// The models, in table order.
    pub models: Vec<ModelSetup>,
    /// The circuits, in table order.
    pub circuits: Vec<CircuitSetup>,
    /// Directions driven: `false` the circuit's own, `true` reversed.
    pub directions: Vec<bool>,
    /// Runs of each combination.
    pub repetitions: u32,
    /// Laps per run.
    pub laps: u32,
    /// Seed of the first repetition's picture noise and texture (repetition r: seed + r).
    pub seed: u64,
    /// The conditions, in table order.
    pub conditions: Vec<Condition>,
    /// The look of built-in circuits and lap files (a Gazebo world has its own).
    pub look: String,
}

impl Experiment {
    /// Reads and checks the experiment in `path`.
    pub fn read(path: &Path) -> Result<Experiment, ExperimentError> {
        let text = std::fs::read_to_string(path).map_err(|source| ExperimentError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Experiment::parse(&text, path)
    }

    /// Checks the experiment in `text`, read from `path` (paths in it are relative to the
    /// file's folder).
    pub fn parse(text: &str, path: &Path) -> Result<Experiment, ExperimentError> {
        let r = Resolver {
            path,
            locate: Locator { text },
            base: path.parent().unwrap_or(Path::new(".")),
        };
        let file: SpecFile = serde_yaml::from_str(text).map_err(|e| r.yaml_error(&e))?;
        if file.models.is_empty() || file.circuits.is_empty() {
            return Err(r.error(
                None,
                "an experiment needs at least one model and one circuit".into(),
            ));
        }
        let models = file
            .models
            .into_iter()
            .map(|m| r.model(m.0))
            .collect::<Result<Vec<_>, _>>()?;
        r.unique("models", models.iter().map(|m| &m.name))?;
        let circuits = file
            .circuits
            .into_iter()
            .map(|c| r.circuit(c.0))
            .collect::<Result<Vec<_>, _>>()?;
        r.unique("circuits", circuits.iter().map(|c| &c.name))?;
        let directions = r.directions(file.directions)?;
        let look = file.look.map(|l| l.0).unwrap_or_default();
        let conditions = if file.conditions.is_empty() {
            vec![ConditionFields::default()]
        } else {
            file.conditions
        };
        let conditions = conditions
            .into_iter()
            .map(|c| r.condition(c, look))
            .collect::<Result<Vec<_>, _>>()?;
        r.unique("conditions", conditions.iter().map(|c| &c.name))?;
        Ok(Experiment {
            name: file.name.0,
            description: file.description.unwrap_or_default(),
            models,
            circuits,
            directions,
            repetitions: file.repetitions.map(|r| r.0 as u32).unwrap_or(1),
            laps: file.laps.map(|l| l.0 as u32).unwrap_or(1),
            seed: file.seed.unwrap_or(0),
            conditions,
            look: look.to_string(),
        })
    }

    /// The look of built-in circuits and lap files.
    pub fn look(&self) -> Look {
        Look::from_str(&self.look).unwrap_or_default()
    }
}

impl Condition {
    /// The simulator's settings for a run of `laps` laps of a `lap_length` m circuit seen
    /// through `camera` under this condition, its picture seeded with `seed`, validated.
    pub fn sim_config(
        &self,
        camera: CameraConfig,
        laps: u32,
        lap_length: f64,
        seed: u64,
    ) -> Result<SimConfig, InvalidSetting> {
        let mut config = SimConfig {
            laps,
            timeout_s: 60.0 + lap_length * laps as f64 / 3.0,
            ..SimConfig::default()
        };
        config.world.camera = camera;
        if let Some(hz) = self.camera_hz {
            config.world.camera.rate_hz = hz;
        }
        config.world.appearance.noise = self.noise;
        config.world.appearance.brightness = self.brightness;
        config.world.appearance.texture = self.texture;
        config.world.appearance.seed = seed;
        config.brain.latency = self
            .latency
            .parse()
            .map_err(|e: String| InvalidSetting::new("latency", e))?;
        if let Some(ms) = self.stall_timeout_ms {
            config.brain.stall_timeout = BrainConfig::stall_timeout_from_ms(ms)?;
        }
        config.validate()?;
        Ok(config)
    }
}

/// Turns the file's entries into the experiment's settings: paths made relative to the
/// file, names given, every value checked, errors placed at their line.
struct Resolver<'a> {
    path: &'a Path,
    locate: Locator<'a>,
    base: &'a Path,
}

impl Resolver<'_> {
    fn error(&self, line: Option<usize>, message: String) -> ExperimentError {
        ExperimentError::Spec {
            path: self.path.to_path_buf(),
            line,
            message,
        }
    }

    /// serde_yaml's message ends with its own "at line L column C" where it knows the
    /// place; the line is given in front, as compilers give it. A value checked at the top
    /// level is placed at the file's start: its key, which the message starts with, says
    /// where it is.
    fn yaml_error(&self, e: &serde_yaml::Error) -> ExperimentError {
        let message = e.to_string();
        match message.rfind(" at line ") {
            Some(i) => self.error(e.location().map(|l| l.line()), message[..i].to_string()),
            None => {
                let key = message.split_once(": ").map(|(k, _)| k).unwrap_or("");
                let line = (!key.is_empty() && !key.contains(' '))
                    .then(|| self.locate.key(None, key))
                    .flatten();
                self.error(line, message)
            }
        }
    }

    /// `p` relative to the file's folder (absolute paths as they are).
    fn resolve(&self, p: &str) -> String {
        let candidate = Path::new(p);
        if candidate.is_absolute() {
            p.to_string()
        } else {
            self.base.join(candidate).display().to_string()
        }
    }

    fn unique<'n>(
        &self,
        section: &str,
        names: impl Iterator<Item = &'n String>,
    ) -> Result<(), ExperimentError> {
        let names: Vec<&String> = names.collect();
        for (i, n) in names.iter().enumerate() {
            if names[..i].contains(n) {
                return Err(self.error(
                    self.locate.entry(section, n),
                    format!("{section}: '{n}' is named twice; give each entry its own 'name'"),
                ));
            }
        }
        Ok(())
    }

    fn model(&self, fields: ModelFields) -> Result<ModelSetup, ExperimentError> {
        let label = fields
            .name
            .clone()
            .map(|n| n.0)
            .or_else(|| fields.model.clone())
            .or_else(|| fields.pilot.clone().map(|p| p.0.to_string()))
            .unwrap_or_default();
        let line = self.locate.entry("models", &label);
        let fail = |message: String| self.error(line, format!("model '{label}': {message}"));
        let pilot = match (fields.pilot.map(|p| p.0), &fields.model) {
            (Some(PilotKind::Expert), Some(_)) => {
                return Err(fail(
                    "'model' drives with a network; drop it or 'pilot: expert'".into(),
                ))
            }
            (Some(PilotKind::Expert), None) => {
                if fields.backend.is_some() || fields.device.is_some() || fields.threads.is_some() {
                    return Err(fail(
                        "the expert takes no backend, device or threads".into(),
                    ));
                }
                PilotSetup::Expert
            }
            (Some(PilotKind::Network) | None, None) => {
                return Err(fail(
                    "needs 'model' (a shipped variant's name or a model file) or 'pilot: expert'"
                        .into(),
                ))
            }
            (Some(PilotKind::Network) | None, Some(model)) => {
                let backend = BackendConfig {
                    kind: fields.backend.map(|b| b.0),
                    device: fields.device.map(|d| d.0).unwrap_or_default(),
                    threads: fields.threads.map(|t| t.0 as usize).unwrap_or(1),
                    ..BackendConfig::default()
                };
                backend.validate().map_err(|e| fail(e.to_string()))?;
                let bare = Path::new(model).extension().is_none()
                    && Path::new(model).components().count() == 1;
                let model = if bare {
                    model.clone()
                } else {
                    self.resolve(model)
                };
                // The file (or the catalogue entry) must be there; whether it loads is
                // checked by opening it before the first lap.
                let path = crate::inference::manifest::resolve_model(Path::new(&model))
                    .map_err(|e| fail(e.to_string()))?;
                if !path.is_file() {
                    return Err(fail(format!("{} is not a file", path.display())));
                }
                let engine = format!(
                    "{} {} {}t",
                    backend.kind.map(|k| k.as_str()).unwrap_or("auto"),
                    backend.device,
                    backend.threads
                );
                PilotSetup::Network {
                    model,
                    backend,
                    engine,
                }
            }
        };
        let name = match (fields.name, &pilot) {
            (Some(n), _) => n.0,
            (None, PilotSetup::Expert) => "expert".to_string(),
            (None, PilotSetup::Network { .. }) => {
                let model = fields.model.unwrap_or_default();
                let stem = Path::new(&model)
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or(model);
                Name::check(&stem).map_err(|e| fail(format!("{e}; give the entry a 'name'")))?
            }
        };
        Ok(ModelSetup { name, pilot })
    }

    fn circuit(&self, fields: CircuitFields) -> Result<CircuitSetup, ExperimentError> {
        use crate::evaluation::circuit::BUILTIN_CIRCUITS;
        let builtin = |c: &str| BUILTIN_CIRCUITS.iter().any(|b| b.name == c);
        let label = fields
            .name
            .clone()
            .map(|n| n.0)
            .or_else(|| fields.circuit.clone())
            .or_else(|| fields.world.clone())
            .unwrap_or_default();
        let line = self.locate.entry("circuits", &label);
        let fail = |message: String| self.error(line, format!("circuit '{label}': {message}"));
        let source = match (&fields.circuit, &fields.world) {
            (Some(_), Some(_)) => return Err(fail("give 'circuit' or 'world', not both".into())),
            (None, None) => {
                return Err(fail(
                    "needs 'circuit' (a built-in name or lap file) or 'world' (a Gazebo \
                     model.sdf or .world)"
                        .into(),
                ))
            }
            (Some(c), None) if builtin(c) => c.clone(),
            (Some(path), None) | (None, Some(path)) => self.resolve(path),
        };
        if !builtin(&source) && !Path::new(&source).is_file() {
            return Err(fail(format!(
                "{source} is not a built-in circuit or a file"
            )));
        }
        let reference = fields
            .reference
            .as_deref()
            .map(|r| PathBuf::from(self.resolve(r)));
        if let Some(r) = &reference {
            if !r.is_file() {
                return Err(fail(format!("reference {} is not a file", r.display())));
            }
        }
        if let Some(t) = fields.timeout_s {
            if !(t.is_finite() && t > 0.0 && t <= 1e7) {
                return Err(self.error(
                    self.locate.key(line, "timeout_s"),
                    format!("circuit '{label}': timeout_s: {t} is not in (0, 1e7] seconds"),
                ));
            }
        }
        let name = match fields.name {
            Some(n) => n.0,
            None => {
                let source = Path::new(&source);
                // A Gazebo model is a model.sdf in the circuit's folder: named by the folder.
                let named = match source.file_stem() {
                    Some(stem) if stem == "model" => source.parent().and_then(|p| p.file_name()),
                    stem => stem,
                };
                let stem = named
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                Name::check(&stem).map_err(|e| fail(format!("{e}; give the entry a 'name'")))?
            }
        };
        Ok(CircuitSetup {
            name,
            source,
            reference,
            timeout_s: fields.timeout_s,
        })
    }

    fn directions(&self, given: Option<Vec<DirectionName>>) -> Result<Vec<bool>, ExperimentError> {
        let fail = |m: &str| self.error(self.locate.key(None, "directions"), m.into());
        let Some(given) = given else {
            return Ok(vec![false, true]);
        };
        if given.is_empty() {
            return Err(fail("directions: give at least one of forward, reverse"));
        }
        let mut out: Vec<bool> = Vec::new();
        for dir in given {
            let reverse = dir == DirectionName::Reverse;
            if out.contains(&reverse) {
                return Err(fail("directions: each direction once"));
            }
            out.push(reverse);
        }
        Ok(out)
    }

    fn condition(&self, c: ConditionFields, look: Look) -> Result<Condition, ExperimentError> {
        let name = c.name.map(|n| n.0).unwrap_or_else(|| "default".into());
        let line = self.locate.entry("conditions", &name);
        let condition = Condition {
            latency: c.latency.map(|l| l.0).unwrap_or(Latency::None).to_string(),
            camera_hz: c.camera_hz,
            noise: c.noise.unwrap_or(0.0),
            brightness: c.brightness.unwrap_or(1.0),
            texture: c.texture.unwrap_or(0.0),
            stall_timeout_ms: c.stall_timeout_ms,
            name,
        };
        // The simulator's own checks, placed at the condition's key.
        if let Err(e) = condition.sim_config(look.camera(), 1, 100.0, 0) {
            return Err(self.error(
                self.locate.key(line, e.name),
                format!("condition '{}': {e}", condition.name),
            ));
        }
        Ok(condition)
    }
}

/// Finds where an entry or key is written, for errors found after parsing.
struct Locator<'a> {
    text: &'a str,
}

impl Locator<'_> {
    /// The line (1-based) of the entry of top-level `section` that mentions `label`.
    fn entry(&self, section: &str, label: &str) -> Option<usize> {
        let lines: Vec<&str> = self.text.lines().collect();
        let start = lines
            .iter()
            .position(|l| l.starts_with(&format!("{section}:")))?;
        lines
            .iter()
            .enumerate()
            .skip(start + 1)
            .take_while(|(_, l)| l.is_empty() || l.starts_with([' ', '-', '#']))
            .find(|(_, l)| !label.is_empty() && l.contains(label))
            .map(|(i, _)| i + 1)
            .or(Some(start + 1))
    }

    /// The line of `key:` at or after `from` (the whole file when `None`).
    fn key(&self, from: Option<usize>, key: &str) -> Option<usize> {
        let from = from.unwrap_or(1);
        self.text
            .lines()
            .enumerate()
            .skip(from - 1)
            .find(|(_, l)| l.contains(&format!("{key}:")))
            .map(|(i, _)| i + 1)
            .or(Some(from))
    }
}

/// The file as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SpecFile {
    #[serde(deserialize_with = "key_name")]
    name: Name,
    description: Option<String>,
    models: Vec<Entry<ModelFields>>,
    circuits: Vec<Entry<CircuitFields>>,
    directions: Option<Vec<DirectionName>>,
    #[serde(default, deserialize_with = "key_repetitions")]
    repetitions: Option<InRange<1, 10_000>>,
    #[serde(default, deserialize_with = "key_laps")]
    laps: Option<InRange<1, 1_000>>,
    seed: Option<u64>,
    #[serde(default)]
    conditions: Vec<ConditionFields>,
    #[serde(default, deserialize_with = "key_look")]
    look: Option<Parsed<Look>>,
}

/// A top-level value, its error prefixed with its key (serde_yaml places errors of
/// top-level values at the start of the file).
fn keyed<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D, key: &str) -> Result<T, D::Error> {
    T::deserialize(d).map_err(|e| de::Error::custom(format!("{key}: {e}")))
}

fn key_name<'de, D: Deserializer<'de>>(d: D) -> Result<Name, D::Error> {
    keyed(d, "name")
}

fn key_repetitions<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<InRange<1, 10_000>>, D::Error> {
    keyed(d, "repetitions")
}

fn key_laps<'de, D: Deserializer<'de>>(d: D) -> Result<Option<InRange<1, 1_000>>, D::Error> {
    keyed(d, "laps")
}

fn key_look<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Parsed<Look>>, D::Error> {
    keyed(d, "look")
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ModelFields {
    name: Option<Name>,
    model: Option<String>,
    pilot: Option<Parsed<PilotKind>>,
    backend: Option<Parsed<BackendKind>>,
    device: Option<Parsed<Device>>,
    threads: Option<InRange<1, 256>>,
}

impl From<String> for ModelFields {
    fn from(s: String) -> Self {
        if s == "expert" {
            ModelFields {
                pilot: Some(Parsed(PilotKind::Expert)),
                ..Default::default()
            }
        } else {
            ModelFields {
                model: Some(s),
                ..Default::default()
            }
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CircuitFields {
    name: Option<Name>,
    circuit: Option<String>,
    world: Option<String>,
    reference: Option<String>,
    timeout_s: Option<f64>,
}

impl From<String> for CircuitFields {
    fn from(s: String) -> Self {
        if crate::sim::track::is_world(&s) {
            CircuitFields {
                world: Some(s),
                ..Default::default()
            }
        } else {
            CircuitFields {
                circuit: Some(s),
                ..Default::default()
            }
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ConditionFields {
    name: Option<Name>,
    latency: Option<Parsed<Latency>>,
    camera_hz: Option<f64>,
    noise: Option<f32>,
    brightness: Option<f32>,
    texture: Option<f32>,
    stall_timeout_ms: Option<f64>,
}

#[derive(Deserialize, PartialEq, Eq, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum DirectionName {
    Forward,
    Reverse,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum PilotKind {
    Expert,
    Network,
}

impl fmt::Display for PilotKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PilotKind::Expert => "expert",
            PilotKind::Network => "network",
        })
    }
}

impl FromStr for PilotKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "expert" => Ok(PilotKind::Expert),
            "network" | "model" => Ok(PilotKind::Network),
            _ => Err(format!("unknown pilot '{s}' (expected expert or network)")),
        }
    }
}

/// A name for tables and folders: letters, digits, `_`, `-`, `.`, `+`.
#[derive(Clone)]
struct Name(String);

impl Name {
    fn check(s: &str) -> Result<String, String> {
        if !s.is_empty()
            && s.len() <= 64
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.+".contains(c))
            && !s.starts_with('.')
        {
            Ok(s.to_string())
        } else {
            Err(format!(
                "'{s}' is not a name (1 to 64 letters, digits, '_', '-', '.' or '+', not \
                 starting with '.')"
            ))
        }
    }
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Name::check(&s).map(Name).map_err(de::Error::custom)
    }
}

/// An integer in `[LO, HI]`.
struct InRange<const LO: u64, const HI: u64>(u64);

impl<'de, const LO: u64, const HI: u64> Deserialize<'de> for InRange<LO, HI> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = i64::deserialize(d)?;
        if v >= LO as i64 && v as u64 <= HI {
            Ok(InRange(v as u64))
        } else {
            Err(de::Error::custom(format!("{v} is not in [{LO}, {HI}]")))
        }
    }
}

/// A value written as text (or a number) and parsed by its `FromStr`.
#[derive(Clone)]
struct Parsed<T>(T);

impl<'de, T: FromStr<Err = String>> Deserialize<'de> for Parsed<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<T: FromStr<Err = String>> Visitor<'_> for V<T> {
            type Value = Parsed<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a word or a number")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Parsed<T>, E> {
                s.parse().map(Parsed).map_err(E::custom)
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Parsed<T>, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Parsed<T>, E> {
                self.visit_str(&v.to_string())
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Parsed<T>, E> {
                self.visit_str(&v.to_string())
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

/// An entry written as a single word (shorthand) or as a map of its fields.
struct Entry<T>(T);

impl<'de, T: Deserialize<'de> + From<String>> Deserialize<'de> for Entry<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de> + From<String>> Visitor<'de> for V<T> {
            type Value = Entry<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a name or a map of settings")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Entry<T>, E> {
                Ok(Entry(T::from(s.to_string())))
            }
            fn visit_map<M: MapAccess<'de>>(self, m: M) -> Result<Entry<T>, M::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(m)).map(Entry)
            }
        }
        d.deserialize_any(V(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Experiment, ExperimentError> {
        Experiment::parse(text, Path::new("/tmp/exp.yaml"))
    }

    fn error(text: &str) -> (Option<usize>, String) {
        match parse(text) {
            Err(ExperimentError::Spec { line, message, .. }) => (line, message),
            other => panic!("{other:?}"),
        }
    }

    const GOOD: &str = "\
name: t
models:
  - expert
  - fp32
  - {name: int8, model: static_int8, threads: 2}
circuits:
  - lakeside
  - {name: hairpins, circuit: switchback, timeout_s: 20}
repetitions: 2
conditions:
  - {name: ideal}
  - {name: slow, latency: measured*20, noise: 4}
  - {name: fixed, latency: 40}
";

    #[test]
    fn a_good_file_resolves() {
        let e = parse(GOOD).unwrap();
        let names: Vec<_> = e.models.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(names, ["expert", "fp32", "int8"]);
        assert_eq!(e.models[0].pilot, PilotSetup::Expert);
        match &e.models[2].pilot {
            PilotSetup::Network { model, backend, .. } => {
                assert_eq!(model, "static_int8");
                assert_eq!(backend.threads, 2);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(e.circuits[1].name, "hairpins");
        assert_eq!(e.circuits[1].timeout_s, Some(20.0));
        assert_eq!(e.directions, [false, true]);
        assert_eq!(e.repetitions, 2);
        assert_eq!(e.conditions[1].latency, "measured*20");
        assert_eq!(e.conditions[2].latency, "40ms");
        assert_eq!(e.look(), Look::BehaviorMetrics);
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_line() {
        let (line, m) = error(&GOOD.replace("repetitions: 2", "repetitons: 2"));
        assert_eq!(line, Some(9), "{m}");
        assert!(m.contains("unknown field `repetitons`"), "{m}");
        let (line, m) = error(&GOOD.replace("repetitions: 2", "repetitions: 0"));
        assert_eq!(line, Some(9));
        assert!(m.contains("0 is not in [1, 10000]"), "{m}");
        let (line, m) = error(&GOOD.replace("threads: 2", "threads: 100000"));
        assert_eq!(line, Some(5), "{m}");
        assert!(m.contains("100000 is not in [1, 256]"), "{m}");
        let (line, m) = error(&GOOD.replace("measured*20", "measured*-1"));
        assert_eq!(line, Some(12), "{m}");
        assert!(m.contains("positive"), "{m}");
        let (line, m) = error(&GOOD.replace("noise: 4", "noise: 4, colour: red"));
        assert_eq!(line, Some(12), "{m}");
        assert!(m.contains("unknown field `colour`"), "{m}");
    }

    #[test]
    fn meaning_errors_name_the_entry_and_its_line() {
        let (line, m) = error(&GOOD.replace("circuit: switchback", "circuit: nowhere.csv"));
        assert_eq!(line, Some(8), "{m}");
        assert!(
            m.contains("circuit 'hairpins'") && m.contains("nowhere.csv"),
            "{m}"
        );
        let (line, m) =
            error(&GOOD.replace("{name: fixed, latency: 40}", "{name: fixed, camera_hz: 0}"));
        assert_eq!(line, Some(13), "{m}");
        assert!(
            m.contains("condition 'fixed'") && m.contains("camera_hz: 0 is not in"),
            "{m}"
        );
        let (_, m) = error(&GOOD.replace("name: int8", "name: fp32"));
        assert!(m.contains("'fp32' is named twice"), "{m}");
        let (line, m) = error(&GOOD.replace("timeout_s: 20", "timeout_s: -1"));
        assert_eq!(line, Some(8), "{m}");
        let (_, m) = error(&GOOD.replace("name: int8, model", "name: x y, model"));
        assert!(m.contains("'x y' is not a name"), "{m}");
    }
}
