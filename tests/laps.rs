//! Full laps with the expert: every built-in circuit and every Behavior Metrics reference lap,
//! in both directions, within the position-deviation bound of issue #2.

mod util;

use pilotnet_brain::circuit::{Circuit, RoadGeometry, BUILTIN_CIRCUITS};
use pilotnet_brain::metrics::EndReason;
use pilotnet_brain::pilot::{ExpertConfig, ExpertPilot};
use pilotnet_brain::pipeline::Pipeline;
use pilotnet_brain::sim::{self, RunOutcome, SimConfig};

const MAX_MAE_M: f64 = 0.25;

/// Drives `circuit` with the expert under `config`.
fn drive_with(circuit: &Circuit, config: &SimConfig) -> RunOutcome {
    let pilot = ExpertPilot::new(config.camera, ExpertConfig::default());
    let mut pipeline = Pipeline::new(Box::new(pilot), config.limits);
    sim::run(circuit, &mut pipeline, config).expect("valid settings")
}

fn drive(spec: &str, reverse: bool) -> RunOutcome {
    let circuit = Circuit::load(spec, RoadGeometry::default(), reverse).expect("circuit loads");
    let config = SimConfig {
        timeout_s: 60.0 + circuit.length() / 3.0,
        ..SimConfig::default()
    };
    drive_with(&circuit, &config)
}

fn assert_clean_lap(spec: &str, reverse: bool) -> RunOutcome {
    let out = drive(spec, reverse);
    let l = &out.laps;
    let what = format!("{spec} (reverse: {reverse})");
    assert_eq!(l.end_reason, EndReason::LapCompleted, "{what}: {l:?}");
    assert_eq!(l.laps_completed, 1, "{what}");
    assert!(
        (l.percentage_completed - 100.0).abs() < 1e-9,
        "{what}: {}",
        l.percentage_completed
    );
    assert!(
        l.position_deviation_mae_m <= MAX_MAE_M,
        "{what}: position deviation MAE {} m",
        l.position_deviation_mae_m
    );
    // The path driven is about one lap of the reference.
    let length = Circuit::load(spec, RoadGeometry::default(), reverse)
        .unwrap()
        .length();
    assert!(
        (l.completed_distance_m / length - 1.0).abs() < 0.03,
        "{what}: drove {} m of a {length} m lap",
        l.completed_distance_m
    );
    assert_eq!(out.frames_dropped, 0, "{what}: lockstep drops nothing");
    assert_eq!(out.safety.pilot_errors + out.safety.non_finite_commands, 0);
    out
}

#[test]
fn simple_circuit_both_ways_fast_and_close() {
    for reverse in [false, true] {
        let out = assert_clean_lap(&util::reference("simple_circuit"), reverse);
        // Behavior Metrics' best PilotNet on it averaged 8.8 m/s.
        assert!(
            out.laps.average_speed_mps >= 7.0,
            "average speed {}",
            out.laps.average_speed_mps
        );
    }
}

#[test]
fn montmelo_both_ways() {
    for reverse in [false, true] {
        assert_clean_lap(&util::reference("montmelo"), reverse);
    }
}

#[test]
fn montreal_both_ways() {
    for reverse in [false, true] {
        assert_clean_lap(&util::reference("montreal"), reverse);
    }
}

#[test]
fn nurburgring_both_ways() {
    for reverse in [false, true] {
        assert_clean_lap(&util::reference("nurburgring"), reverse);
    }
}

#[test]
fn builtin_circuits_both_ways() {
    for b in BUILTIN_CIRCUITS {
        for reverse in [false, true] {
            assert_clean_lap(b.name, reverse);
        }
    }
}

#[test]
fn two_laps_time_each_lap() {
    let circuit = Circuit::load("lakeside", RoadGeometry::default(), false).unwrap();
    let config = SimConfig {
        laps: 2,
        timeout_s: 200.0,
        ..SimConfig::default()
    };
    let out = drive_with(&circuit, &config);
    assert_eq!(out.laps.laps_completed, 2);
    assert_eq!(out.laps.lap_times_s.len(), 2);
    // The second lap starts at speed, so it is faster than the first (from standstill).
    assert!(out.laps.lap_times_s[1] < out.laps.lap_times_s[0]);
    assert!((out.laps.percentage_completed - 200.0).abs() < 1e-9);
}

#[test]
fn a_run_that_times_out_reports_partial_progress() {
    let circuit = Circuit::load("highland", RoadGeometry::default(), false).unwrap();
    let config = SimConfig {
        timeout_s: 10.0,
        ..SimConfig::default()
    };
    let out = drive_with(&circuit, &config);
    let l = &out.laps;
    assert_eq!(l.end_reason, EndReason::Timeout);
    assert!(!l.lap_completed && l.lap_seconds.is_none());
    // 10 s at up to 13 m/s on an 840 m lap: a partial, consistent percentage.
    let expected = 100.0 * l.completed_distance_m / circuit.length();
    assert!((l.percentage_completed - expected).abs() < 1.0, "{l:?}");
    assert!((l.sim_seconds - 10.0).abs() < 0.06);
}
