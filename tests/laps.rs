//! Full laps with the expert: every built-in circuit and every Behavior Metrics reference lap,
//! in both directions. The simulator is deterministic in lockstep, so each lap's position
//! deviation and lap time are bounded close to what was measured (`docs/structure.md`), with
//! the headroom stated here: a change that makes the expert drive worse fails.

mod util;

use pilotnet_brain::driving::pilot::{ExpertConfig, ExpertPilot};
use pilotnet_brain::evaluation::circuit::{Circuit, RoadGeometry};
use pilotnet_brain::evaluation::laps::EndReason;
use pilotnet_brain::evaluation::record::RunRecord;
use pilotnet_brain::sim::{self, SimConfig, Track};

/// A lap's MAE may be this much above the measured value.
const MAE_HEADROOM: f64 = 1.25;
/// A lap's time may differ from the measured one by this fraction.
const LAP_TIME_TOLERANCE: f64 = 0.02;

/// Measured: (circuit, reverse, position deviation MAE in m, lap time in s).
const MEASURED: &[(&str, bool, f64, f64)] = &[
    ("simple_circuit", false, 0.0084, 39.43),
    ("simple_circuit", true, 0.0083, 39.47),
    ("montmelo", false, 0.0153, 66.34),
    ("montmelo", true, 0.0156, 66.27),
    ("montreal", false, 0.0150, 124.23),
    ("montreal", true, 0.0150, 124.12),
    ("nurburgring", false, 0.0214, 51.76),
    ("nurburgring", true, 0.0218, 51.65),
    ("lakeside", false, 0.00066, 37.19),
    ("lakeside", true, 0.00062, 37.19),
    ("switchback", false, 0.0024, 48.53),
    ("switchback", true, 0.0024, 48.54),
    ("highland", false, 0.0011, 65.81),
    ("highland", true, 0.0011, 65.81),
];

/// Drives `circuit` with the expert under `config`.
fn drive_with(circuit: &Circuit, config: &SimConfig) -> RunRecord {
    let pilot = ExpertPilot::new(config.world.camera, ExpertConfig::default());
    sim::run(&Track::from(circuit.clone()), Box::new(pilot), config)
        .expect("valid settings")
        .record
}

fn spec(name: &str) -> String {
    if ["lakeside", "switchback", "highland"].contains(&name) {
        name.to_string()
    } else {
        util::reference(name)
    }
}

fn assert_clean_lap(name: &str, reverse: bool) -> RunRecord {
    let circuit = Circuit::load(&spec(name), RoadGeometry::default(), reverse).unwrap();
    let config = SimConfig {
        timeout_s: 60.0 + circuit.length() / 3.0,
        ..SimConfig::default()
    };
    let r = drive_with(&circuit, &config);
    let l = &r.laps;
    let what = format!("{name} (reverse: {reverse})");
    eprintln!(
        "{what}: MAE {:.4} m, lap {:?} s",
        l.position_deviation_mae_m, l.lap_seconds
    );
    assert_eq!(l.end_reason, EndReason::LapCompleted, "{what}: {l:?}");
    assert_eq!(l.laps_completed, 1, "{what}");
    assert!(
        (l.percentage_completed - 100.0).abs() < 1e-9,
        "{what}: {}",
        l.percentage_completed
    );
    let &(_, _, mae, lap_s) = MEASURED
        .iter()
        .find(|(n, rev, ..)| *n == name && *rev == reverse)
        .expect("a measured lap");
    assert!(
        l.position_deviation_mae_m <= mae * MAE_HEADROOM,
        "{what}: position deviation MAE {} m, measured {mae} m",
        l.position_deviation_mae_m
    );
    let lap = l.lap_seconds.unwrap();
    assert!(
        (lap / lap_s - 1.0).abs() <= LAP_TIME_TOLERANCE,
        "{what}: lap {lap} s, measured {lap_s} s"
    );
    // The path driven is about one lap of the reference.
    assert!(
        (l.completed_distance_m / circuit.length() - 1.0).abs() < 0.03,
        "{what}: drove {} m of a {} m lap",
        l.completed_distance_m,
        circuit.length()
    );
    let c = &r.brain.counters;
    assert_eq!(c.frames_dropped, 0, "{what}: lockstep drops nothing");
    assert_eq!(c.frames_processed, c.frames_received, "{what}");
    assert_eq!(c.safety.pilot_errors + c.safety.non_finite_commands, 0);
    assert_eq!(c.stall_stops, 0, "{what}");
    r
}

#[test]
fn simple_circuit_both_ways_fast_and_close() {
    for reverse in [false, true] {
        let r = assert_clean_lap("simple_circuit", reverse);
        // Behavior Metrics' best PilotNet on it averaged 8.8 m/s.
        assert!(
            r.laps.average_speed_mps >= 7.0,
            "average speed {}",
            r.laps.average_speed_mps
        );
    }
}

#[test]
fn montmelo_both_ways() {
    for reverse in [false, true] {
        assert_clean_lap("montmelo", reverse);
    }
}

#[test]
fn montreal_both_ways() {
    for reverse in [false, true] {
        assert_clean_lap("montreal", reverse);
    }
}

#[test]
fn nurburgring_both_ways() {
    for reverse in [false, true] {
        assert_clean_lap("nurburgring", reverse);
    }
}

#[test]
fn builtin_circuits_both_ways() {
    for name in ["lakeside", "switchback", "highland"] {
        for reverse in [false, true] {
            assert_clean_lap(name, reverse);
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
    let r = drive_with(&circuit, &config);
    assert_eq!(r.laps.laps_completed, 2);
    assert_eq!(r.laps.lap_times_s.len(), 2);
    // The second lap starts at speed, so it is faster than the first (from standstill).
    assert!(r.laps.lap_times_s[1] < r.laps.lap_times_s[0]);
    assert!((r.laps.percentage_completed - 200.0).abs() < 1e-9);
    assert_eq!(r.run.laps_requested, 2);
}

#[test]
fn a_run_that_times_out_reports_partial_progress() {
    let circuit = Circuit::load("highland", RoadGeometry::default(), false).unwrap();
    let config = SimConfig {
        timeout_s: 10.0,
        ..SimConfig::default()
    };
    let r = drive_with(&circuit, &config);
    let l = &r.laps;
    assert_eq!(l.end_reason, EndReason::Timeout);
    assert!(!l.lap_completed && l.lap_seconds.is_none());
    // 10 s at up to 13 m/s on an 840 m lap: a partial, consistent percentage.
    let expected = 100.0 * l.completed_distance_m / circuit.length();
    assert!((l.percentage_completed - expected).abs() < 1.0, "{l:?}");
    assert!((l.sim_seconds - 10.0).abs() < 0.06);
    // 10 s at 20 Hz, every frame answered.
    assert_eq!(r.brain.counters.frames_received, 200);
}
