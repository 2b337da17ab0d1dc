//! The scores of a recorded run: a [`Recording`]'s odometry fed to the same
//! [`LapRecorder`] the simulator and the ROS node use, against a reference lap, into the same
//! [`RunRecord`] — so a bag of a simulated lap reproduces that lap's record.

use crate::evaluation::circuit::Circuit;
use crate::evaluation::laps::{Direction, EndReason, LapRecorder, Sample};
use crate::evaluation::record::{Producer, RecordingInfo, RunInfo, RunRecord, TimeSource};
use crate::recording::{Recording, Stamps};

/// Who drove a recording, as the record names it.
pub const RECORDED: &str = "recorded";

/// A scored recording.
#[derive(Debug, Clone)]
pub struct Replay {
    /// The record.
    pub record: RunRecord,
    /// The odometry samples scored.
    pub trajectory: Vec<Sample>,
}

/// Scores `recording` on `circuit` driven in `direction`: every lap it holds, or up to
/// `laps`, counted from where the car started and ending early where the car left the road
/// or stood still, as a live run would.
pub fn score(
    recording: &Recording,
    circuit: &Circuit,
    laps: Option<u32>,
    direction: Direction,
) -> Replay {
    let mut recorder = LapRecorder::for_circuit(circuit, laps.unwrap_or(u32::MAX), direction);
    let mut end = EndReason::EndOfRecording;
    for odom in &recording.odometry {
        if let Some(reason) = recorder.record(odom) {
            end = reason;
            break;
        }
    }
    let stats = recorder.finish(end);
    let scored = recorder.samples().len();
    let (rx0, rx1) = (recording.received[0], recording.received[scored.max(1) - 1]);
    let commands: Vec<_> = recording
        .commands
        .iter()
        .filter(|c| c.t >= rx0 && c.t <= rx1)
        .collect();
    let suddenness = (commands.len() > 1).then(|| {
        commands
            .windows(2)
            .map(|w| (w[1].v - w[0].v).hypot(w[1].w - w[0].w))
            .sum::<f64>()
            / (commands.len() - 1) as f64
    });
    let info = RunInfo {
        producer: Producer::Recording,
        circuit: circuit.name.clone(),
        circuit_source: circuit.source.clone(),
        circuit_length_m: circuit.length(),
        pilot: RECORDED.to_string(),
        backend: None,
        device: None,
        laps_requested: laps.unwrap_or(0),
        camera_hz: None,
        latency: RECORDED.to_string(),
        time_source: match recording.stamps {
            Stamps::Header => TimeSource::OdometryStamps,
            Stamps::Received => TimeSource::ReceiveTime,
        },
        physics_hz: None,
    };
    let clock_seconds = match (recording.clock.first(), recording.clock.last()) {
        (Some(a), Some(b)) if recording.clock_topic.is_some() => Some(b - a),
        _ => None,
    };
    let sim_seconds = stats.sim_seconds;
    let info_recording = RecordingInfo {
        bag: recording.path.display().to_string(),
        bag_storage: recording.storage.as_str().to_string(),
        odometry_topic: recording.odometry_topic.clone(),
        clock_topic: recording.clock_topic.clone(),
        clock_seconds,
        command_topic: recording.command_topic.clone(),
        commands: commands.len() as u64,
        command_rate_hz: (!commands.is_empty() && sim_seconds > 0.0)
            .then(|| commands.len() as f64 / sim_seconds),
        command_suddenness: suddenness,
        recorded_seconds: rx1 - rx0,
    };
    Replay {
        record: RunRecord::of(info, stats, None, Some(info_recording), None),
        trajectory: recorder.samples().to_vec(),
    }
}
