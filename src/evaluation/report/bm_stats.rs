//! Behavior Metrics' own stats object (`bm_stats.json`): the keys its `metrics_gazebo.py` and
//! pilot write for a run, with their meanings, so its analysis scripts read a run from here
//! as one of their own.
//!
//! Each key is filled from the run record: Behavior Metrics' scores as it computes them
//! ([`crate::evaluation::laps::BmScores`]), distances, times and rates as the record measured
//! them. A key whose figure the producer cannot know is `null` (the README says why for each).

use serde_json::{json, Map, Value};

use crate::base::geometry::Vec2;
use crate::evaluation::record::RunRecord;

/// Behavior Metrics' `circuit_diameter`: the reference lap's length from its first point to
/// its last, as it measures its perfect lap.
pub fn circuit_diameter(reference: &[Vec2]) -> f64 {
    reference.windows(2).map(|w| w[0].dist(w[1])).sum()
}

/// The stats object of `record`, a run against the raw `reference` points.
pub fn bm_stats(record: &RunRecord, reference: &[Vec2]) -> Value {
    let (run, laps) = (&record.run, &record.laps);
    let brain = record.brain.as_ref();
    let recording = record.recording.as_ref();
    let per = |count: u64, seconds: f64| (seconds > 0.0).then(|| count as f64 / seconds);
    // One brain iteration per processed frame, or per recorded command.
    let iterations = brain
        .map(|b| b.counters.frames_processed)
        .or(recording.map(|r| r.commands))
        .unwrap_or(0);
    let mean_sim_iteration =
        (iterations > 0 && laps.sim_seconds > 0.0).then(|| laps.sim_seconds / iterations as f64);
    // The wall time of an iteration is the brain's own step; a recording does not hold it.
    let real_iteration = brain
        .filter(|b| b.counters.frames_processed > 0 && b.step_ms_mean > 0.0)
        .map(|b| b.step_ms_mean);
    let lap_done = laps.bm.percentage_completed_bm > 100.0;
    let gpu = run.device.as_deref().map(|d| d != "cpu");
    let mut m = Map::new();
    let mut put = |k: &str, v: Value| {
        m.insert(k.to_string(), v);
    };
    put("completed_distance", json!(laps.completed_distance_m));
    put("average_speed", json!(laps.average_speed_mps));
    put(
        "percentage_completed",
        json!(laps.bm.percentage_completed_bm),
    );
    put(
        "position_deviation_mae",
        json!(laps.bm.position_deviation_bm),
    );
    put(
        "position_deviation_total_err",
        json!(laps.bm.position_deviation_bm_total_err),
    );
    put("experiment_total_simulated_time", json!(laps.sim_seconds));
    put("experiment_total_real_time", json!(record.wall_seconds));
    put(
        "brain_iterations_frequency_simulated_time",
        json!(mean_sim_iteration.map(|s| 1.0 / s)),
    );
    put(
        "brain_iterations_frequency_real_time",
        json!(real_iteration.map(|ms| 1e3 / ms)),
    );
    put(
        "mean_brain_iterations_simulated_time",
        json!(mean_sim_iteration),
    );
    put(
        "mean_brain_iterations_real_time",
        json!(real_iteration.map(|ms| ms / 1e3)),
    );
    // The brain is meant to answer every camera frame: its target rate is the camera's,
    // per simulated second and, at the run's real-time factor, per wall second.
    put(
        "target_brain_iterations_simulated_time",
        json!(run.camera_hz),
    );
    put(
        "target_brain_iterations_real_time",
        json!(run
            .camera_hz
            .zip(record.real_time_factor.filter(|rtf| *rtf > 0.0))
            .map(|(hz, rtf)| hz * rtf)),
    );
    put(
        "mean_inference_time",
        json!(brain.and_then(|b| b.inference_ms_mean).map(|ms| ms / 1e3)),
    );
    put(
        "frame_rate",
        json!(brain.and_then(|b| per(b.counters.frames_received, laps.sim_seconds))),
    );
    put("gpu_inference", json!(gpu));
    put("real_time_factor", json!(record.real_time_factor));
    put("real_time_update_rate", json!(run.physics_hz));
    put(
        "suddenness_distance",
        json!(brain
            .and_then(|b| b.command_suddenness)
            .or(recording.and_then(|r| r.command_suddenness))),
    );
    put(
        "lap_seconds",
        json!(laps.bm.lap_seconds_bm.filter(|_| lap_done)),
    );
    put(
        "circuit_diameter",
        json!(lap_done.then(|| circuit_diameter(reference))),
    );
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diameter_is_the_open_length_of_the_reference() {
        let pts = [
            Vec2::new(0.0, 0.0),
            Vec2::new(3.0, 4.0),
            Vec2::new(3.0, 5.0),
        ];
        assert!((circuit_diameter(&pts) - 6.0).abs() < 1e-12);
    }
}
