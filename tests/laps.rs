//! Full laps with the expert, both ways: Behavior Metrics' four Gazebo worlds, and every
//! built-in circuit and reference lap in Behavior Metrics' look (the default) and in the
//! classic look. The simulator is deterministic in lockstep, so each lap's position deviation
//! and lap time are bounded close to what was measured (`docs/structure.md`,
//! `docs/gazebo.md`), with the headroom stated here: a change that makes the expert drive
//! worse fails.

mod util;

use pilotnet_brain::driving::pilot::{ExpertConfig, ExpertPilot};
use pilotnet_brain::evaluation::circuit::Circuit;
use pilotnet_brain::evaluation::laps::EndReason;
use pilotnet_brain::evaluation::record::RunRecord;
use pilotnet_brain::sim::world::WorldConfig;
use pilotnet_brain::sim::{self, Look, SimConfig, Track};

/// A lap's MAE may be this much above the measured value.
const MAE_HEADROOM: f64 = 1.25;
/// A lap's time may differ from the measured one by this fraction.
const LAP_TIME_TOLERANCE: f64 = 0.02;

/// Measured in the classic look: (circuit, reverse, position deviation MAE in m, lap time in s).
const CLASSIC: &[(&str, bool, f64, f64)] = &[
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

/// Measured in Behavior Metrics' look built around the line (the default), F1 camera.
const GAZEBO: &[(&str, bool, f64, f64)] = &[
    ("simple_circuit", false, 0.0112, 40.66),
    ("simple_circuit", true, 0.0110, 40.72),
    ("montmelo", false, 0.0127, 67.34),
    ("montmelo", true, 0.0128, 67.18),
    ("montreal", false, 0.0149, 124.88),
    ("montreal", true, 0.0148, 124.64),
    ("nurburgring", false, 0.0165, 53.12),
    ("nurburgring", true, 0.0165, 52.98),
    ("lakeside", false, 0.00135, 37.19),
    ("lakeside", true, 0.00106, 37.19),
    ("switchback", false, 0.0040, 49.14),
    ("switchback", true, 0.0039, 49.18),
    ("highland", false, 0.0018, 65.83),
    ("highland", true, 0.0016, 65.83),
];

/// Measured on Behavior Metrics' own Gazebo worlds (their meshes), F1 camera.
const WORLDS: &[(&str, bool, f64, f64)] = &[
    ("simple_circuit", false, 0.0176, 41.24),
    ("simple_circuit", true, 0.0187, 40.92),
    ("montmelo_line", false, 0.0129, 67.76),
    ("montmelo_line", true, 0.0132, 67.63),
    ("montreal_line", false, 0.0076, 117.64),
    ("montreal_line", true, 0.0083, 117.56),
    ("nurburgring_line", false, 0.0149, 53.86),
    ("nurburgring_line", true, 0.0153, 53.47),
];

/// Drives `track` with the expert under `config`.
fn drive_with(track: &Track, config: &SimConfig) -> RunRecord {
    let pilot = ExpertPilot::new(config.world.camera, ExpertConfig::default());
    sim::run(track, Box::new(pilot), config)
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

/// Drives one measured lap and checks it against what was measured.
fn assert_clean_lap(track: &Track, measured: &[(&str, bool, f64, f64)], name: &str) -> RunRecord {
    let circuit = &track.circuit;
    let reverse = circuit.reversed;
    let config = SimConfig {
        timeout_s: 60.0 + circuit.length() / 3.0,
        world: WorldConfig {
            camera: track.camera(),
            ..WorldConfig::default()
        },
        ..SimConfig::default()
    };
    let r = drive_with(track, &config);
    let l = &r.laps;
    let what = format!("{name} ({} look, reverse: {reverse})", track.look());
    eprintln!(
        "{what}: MAE {:.5} m, lap {:?} s",
        l.position_deviation_mae_m, l.lap_seconds
    );
    assert_eq!(l.end_reason, EndReason::LapCompleted, "{what}: {l:?}");
    assert_eq!(l.laps_completed, 1, "{what}");
    assert!(
        (l.percentage_completed - 100.0).abs() < 1e-9,
        "{what}: {}",
        l.percentage_completed
    );
    let &(_, _, mae, lap_s) = measured
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
    let c = &r.brain.unwrap().counters;
    assert_eq!(c.frames_dropped, 0, "{what}: lockstep drops nothing");
    assert_eq!(c.frames_processed, c.frames_received, "{what}");
    assert_eq!(c.safety.pilot_errors + c.safety.non_finite_commands, 0);
    assert_eq!(c.stall_stops, 0, "{what}");
    r
}

fn both_ways(look: Look, names: &[&str], measured: &[(&str, bool, f64, f64)]) {
    for name in names {
        for reverse in [false, true] {
            let track = Track::load(&spec(name), None, reverse, look).expect("circuit loads");
            assert_clean_lap(&track, measured, name);
        }
    }
}

#[test]
fn simple_circuit_both_ways_fast_and_close() {
    for reverse in [false, true] {
        let track = Track::load(&spec("simple_circuit"), None, reverse, Look::default()).unwrap();
        let r = assert_clean_lap(&track, GAZEBO, "simple_circuit");
        // Behavior Metrics' best PilotNet on it averaged 8.8 m/s.
        assert!(
            r.laps.average_speed_mps >= 7.0,
            "average speed {}",
            r.laps.average_speed_mps
        );
    }
}

#[test]
fn reference_circuits_both_ways_in_behavior_metrics_look() {
    both_ways(
        Look::BehaviorMetrics,
        &["montmelo", "montreal", "nurburgring"],
        GAZEBO,
    );
}

#[test]
fn builtin_circuits_both_ways_in_behavior_metrics_look() {
    both_ways(
        Look::BehaviorMetrics,
        &["lakeside", "switchback", "highland"],
        GAZEBO,
    );
}

#[test]
fn every_circuit_both_ways_in_the_classic_look() {
    let names = [
        "simple_circuit",
        "montmelo",
        "montreal",
        "nurburgring",
        "lakeside",
        "switchback",
        "highland",
    ];
    both_ways(Look::Classic, &names, CLASSIC);
}

#[test]
fn behavior_metrics_worlds_both_ways() {
    for name in [
        "simple_circuit",
        "montmelo_line",
        "montreal_line",
        "nurburgring_line",
    ] {
        for reverse in [false, true] {
            let track = Track::world(&util::world(name), reverse).expect("world loads");
            assert_clean_lap(&track, WORLDS, name);
        }
    }
}

#[test]
fn two_laps_time_each_lap() {
    let track = Track::from(Circuit::load("lakeside", Default::default(), false).unwrap());
    let config = SimConfig {
        laps: 2,
        timeout_s: 200.0,
        ..SimConfig::default()
    };
    let r = drive_with(&track, &config);
    assert_eq!(r.laps.laps_completed, 2);
    assert_eq!(r.laps.lap_times_s.len(), 2);
    // The second lap starts at speed, so it is faster than the first (from standstill).
    assert!(r.laps.lap_times_s[1] < r.laps.lap_times_s[0]);
    assert!((r.laps.percentage_completed - 200.0).abs() < 1e-9);
    assert_eq!(r.run.laps_requested, 2);
}

#[test]
fn a_run_that_times_out_reports_partial_progress() {
    let circuit = Circuit::load("highland", Default::default(), false).unwrap();
    let track = Track::from(circuit.clone());
    let config = SimConfig {
        timeout_s: 10.0,
        ..SimConfig::default()
    };
    let r = drive_with(&track, &config);
    let l = &r.laps;
    assert_eq!(l.end_reason, EndReason::Timeout);
    assert!(!l.lap_completed && l.lap_seconds.is_none());
    // 10 s at up to 13 m/s on an 840 m lap: a partial, consistent percentage.
    let expected = 100.0 * l.completed_distance_m / circuit.length();
    assert!((l.percentage_completed - expected).abs() < 1.0, "{l:?}");
    assert!((l.sim_seconds - 10.0).abs() < 0.06);
    // 10 s at 20 Hz, every frame answered.
    assert_eq!(r.brain.unwrap().counters.frames_received, 200);
}
