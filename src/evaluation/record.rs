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
use crate::evaluation::live_events::LiveEvents;

/// Who produced a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Producer {
    /// `pilotnet-brain sim`: the embedded simulator with the brain on its simulated clock.
    Simulator,
    /// `pilotnet-brain node`: the ROS 2 brain node, on the wall clock, against a reference lap.
    RosNode,
    /// `pilotnet-brain metrics`: a recorded run (a rosbag2 bag), scored afterwards.
    Recording,
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
    /// A recording's odometry header stamps (simulated time when it ran under
    /// `use_sim_time`).
    OdometryStamps,
    /// The time a recording's odometry was received (its stamps were all zero).
    ReceiveTime,
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
    /// Who drove: `expert`, or the network's model file.
    pub pilot: String,
    /// Inference engine of a network pilot (`ort`, `tch`), null for others.
    pub backend: Option<String>,
    /// Device of a network pilot (`cpu`, `cuda:1`, `tensorrt`), null for others.
    pub device: Option<String>,
    /// Laps asked for (0: a recording scored whole).
    pub laps_requested: u32,
    /// The camera's frame rate, Hz, where the producer sets it (the simulator); null where it
    /// only receives frames (the ROS node).
    pub camera_hz: Option<f64>,
    /// How the brain's compute time showed: the simulator's `none`, `measured` or `<N>ms`,
    /// or [`REAL_TIME`] for a brain on the wall clock.
    pub latency: String,
    /// The clock of the lap times.
    pub time_source: TimeSource,
    /// The physics update rate, Hz, where the producer steps physics (the simulator); null
    /// where it does not (the ROS node, a recording).
    pub physics_hz: Option<f64>,
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
            pilot: pilot.name().to_string(),
            backend: engine.map(|e| e.backend.as_str().to_string()),
            device: engine.map(|e| e.device.to_string()),
            laps_requested,
            camera_hz,
            latency,
            time_source,
            physics_hz: None,
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
    /// The brain's counters and timings (null for a recording: its brain is not here).
    #[serde(flatten)]
    pub brain: Option<BrainStats>,
    /// What a recording held (null for a live run).
    #[serde(flatten)]
    pub recording: Option<RecordingInfo>,
    /// What happened to a live run's world: clock jumps and stalls, resets (null for the
    /// simulator's runs and recordings).
    #[serde(flatten)]
    pub events: Option<LiveEvents>,
    /// `sim_seconds` per wall second over the same samples; null for a recording, whose
    /// receive times say how fast it was recorded, not how fast its world ran.
    pub real_time_factor: Option<f64>,
    /// Wall time of the run, seconds (null for a recording).
    pub wall_seconds: Option<f64>,
}

/// What a recording held, as `pilotnet-brain metrics` read it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordingInfo {
    /// The bag.
    pub bag: String,
    /// Its storage: `mcap` or `sqlite3`.
    pub bag_storage: String,
    /// The odometry topic scored.
    pub odometry_topic: String,
    /// The clock topic, if any.
    pub clock_topic: Option<String>,
    /// Simulated time the clock covered, seconds (null without a clock topic).
    pub clock_seconds: Option<f64>,
    /// The velocity command topic, if any.
    pub command_topic: Option<String>,
    /// Commands recorded over the scored odometry's span.
    pub commands: u64,
    /// Commands per second of the run's time (one per brain iteration), null without any.
    pub command_rate_hz: Option<f64>,
    /// Mean distance between consecutive commands, √(Δv² + Δw²) (Behavior Metrics'
    /// `suddenness_distance` on the commands), null before two commands.
    pub command_suddenness: Option<f64>,
    /// The recorder's clock over the scored odometry (its receive times), seconds: how long
    /// the recording of those samples took, which is not always how fast the world ran.
    #[serde(default)]
    pub recorded_seconds: f64,
}

impl RunRecord {
    /// The record of a live run that took `wall_seconds`.
    pub fn new(run: RunInfo, laps: LapStats, brain: BrainStats, wall_seconds: f64) -> Self {
        Self::of(run, laps, Some(brain), None, Some(wall_seconds))
    }

    /// The record of a run with the brain's figures where they are known and what a
    /// recording held where it was one, over `wall_seconds` of wall time where it is known.
    pub fn of(
        run: RunInfo,
        laps: LapStats,
        brain: Option<BrainStats>,
        recording: Option<RecordingInfo>,
        wall_seconds: Option<f64>,
    ) -> Self {
        RunRecord {
            real_time_factor: wall_seconds.map(|wall| {
                if wall > 0.0 {
                    laps.sim_seconds / wall
                } else {
                    0.0
                }
            }),
            run,
            laps,
            brain,
            recording,
            events: None,
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
