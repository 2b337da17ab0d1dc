//! The run record: one flat set of keys saying what ran, how it drove and how fast the brain
//! was — printed by `sim --json`, saved as `stats.json` by the simulator and the ROS node
//! alike.
//!
//! What ran ([`RunInfo`]) is stated by whoever produced the run, never inferred from its
//! results: a figure the producer cannot know (the camera rate, to the ROS node) is `null`.
//! The lap statistics ([`LapStats`]) and the brain's counters and timings ([`BrainStats`]) are
//! flattened in from their own types, so each key is declared once and means the same thing
//! whoever wrote it.

use serde::{Deserialize, Serialize};

use crate::driving::brain::BrainStats;
use crate::driving::pilot::Pilot;
use crate::evaluation::circuit::Circuit;
use crate::evaluation::laps::LapStats;

/// Who produced a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Producer {
    /// `pilotnet-brain sim`: the embedded simulator with the brain on its simulated clock.
    Simulator,
    /// `pilotnet-brain node`: the ROS 2 brain node, on the wall clock, against a reference lap.
    RosNode,
}

/// The clock a run's lap times and `sim_seconds` are read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeSource {
    /// The embedded simulator's simulated time.
    Simulator,
    /// ROS simulated time from `/clock` (`use_sim_time`: Gazebo's or the simulator node's).
    RosSimTime,
    /// The ROS system clock (no `use_sim_time`): wall time.
    RosSystemTime,
}

/// The latency model of a brain on the wall clock: the pilot's compute time is real.
pub const REAL_TIME: &str = "real_time";

/// What ran, as its producer states it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// Who produced the run.
    pub producer: Producer,
    /// Circuit name.
    pub circuit: String,
    /// `builtin` or the circuit file.
    pub circuit_source: String,
    /// Lap length along the reference line, metres.
    pub circuit_length_m: f64,
    /// Driven against the circuit's own direction.
    pub reverse: bool,
    /// Who drove: `expert`, or the network's model file.
    pub pilot: String,
    /// Inference engine of a network pilot (`ort`, `tch`), null for others.
    pub backend: Option<String>,
    /// Device of a network pilot (`cpu`, `cuda:1`, `tensorrt`), null for others.
    pub device: Option<String>,
    /// Laps asked for.
    pub laps_requested: u32,
    /// The camera's frame rate, Hz, where the producer sets it (the simulator); null where it
    /// only receives frames (the ROS node).
    pub camera_hz: Option<f64>,
    /// How the brain's compute time showed: the simulator's `none`, `measured` or `<N>ms`,
    /// or [`REAL_TIME`] for a brain on the wall clock.
    pub latency: String,
    /// The clock of the lap times.
    pub time_source: TimeSource,
}

impl RunInfo {
    /// A run of `circuit` by `pilot` for `laps_requested` laps; the caller fills in its
    /// camera rate, latency model and time source.
    pub fn new(
        producer: Producer,
        circuit: &Circuit,
        pilot: &dyn Pilot,
        laps_requested: u32,
        camera_hz: Option<f64>,
        latency: String,
        time_source: TimeSource,
    ) -> Self {
        let engine = pilot.engine();
        RunInfo {
            producer,
            circuit: circuit.name.clone(),
            circuit_source: circuit.source.clone(),
            circuit_length_m: circuit.length(),
            reverse: circuit.reversed,
            pilot: pilot.name().to_string(),
            backend: engine.map(|e| e.backend.as_str().to_string()),
            device: engine.map(|e| e.device.to_string()),
            laps_requested,
            camera_hz,
            latency,
            time_source,
        }
    }
}

/// Everything a run reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    /// What ran.
    #[serde(flatten)]
    pub run: RunInfo,
    /// How it drove.
    #[serde(flatten)]
    pub laps: LapStats,
    /// The brain's counters and timings.
    #[serde(flatten)]
    pub brain: BrainStats,
    /// `sim_seconds` per wall second over the same samples.
    pub real_time_factor: f64,
    /// Wall time of the run, seconds.
    pub wall_seconds: f64,
}

impl RunRecord {
    /// The record of a run that took `wall_seconds`.
    pub fn new(run: RunInfo, laps: LapStats, brain: BrainStats, wall_seconds: f64) -> Self {
        RunRecord {
            real_time_factor: if wall_seconds > 0.0 {
                laps.sim_seconds / wall_seconds
            } else {
                0.0
            },
            run,
            laps,
            brain,
            wall_seconds,
        }
    }

    /// The record as one line of JSON.
    pub fn to_json(&self) -> String {
        // Plain numbers, strings and vectors always serialise.
        serde_json::to_string(self).expect("record serialises")
    }

    /// The record as indented JSON (`stats.json`).
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).expect("record serialises")
    }
}
