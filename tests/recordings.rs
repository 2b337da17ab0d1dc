//! `pilotnet-brain metrics` on bags written by independent libraries from PyPI (`rosbags` for
//! rosbag2's SQLite3 and MCAP and for ROS 1 bags, `mcap` with `mcap-ros2-support` for MCAP),
//! of drives of known shape: simulator laps (the bag's record equals the simulator's), a
//! circle offset by exactly 0.5 m from its reference; Behavior Metrics' own perfect-lap bags;
//! and bags that are cut, or lack the topic asked for.

mod util;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use serde_json::Value;

/// Writers of the factory's bag module, and the path each writes to inside `dir`.
const WRITERS: &[(&str, &str)] = &[
    ("rosbags-sqlite3", "sqlite_bag"),
    ("rosbags-mcap", "mcap_bag"),
    ("mcap", "lap.mcap"),
    ("rosbags-ros1", "lap.bag"),
];

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

/// Writes a bag of `source` (`--trajectory CSV` or `--circle R ...`) with `writer`.
fn write_bag(dir: &Path, writer: &str, name: &str, source: &[&OsStr]) -> PathBuf {
    let bag = dir.join(name);
    let mut args: Vec<&OsStr> = source.to_vec();
    args.extend([os("--writer"), os(writer), os("--out"), bag.as_os_str()]);
    util::factory("bags", &args);
    bag
}

/// `metrics` with `args`, as its JSON record.
fn metrics(args: &[&OsStr]) -> Value {
    util::json_record(util::binary().arg("metrics").args(args).arg("--json"))
}

fn f(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number in {v}"))
}

#[test]
fn a_bag_of_a_simulated_lap_reproduces_the_simulators_record() {
    let world = util::world("simple_circuit");
    for reverse in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        let mut sim = util::binary();
        sim.arg("sim")
            .arg("--world")
            .arg(&world)
            .arg("--out")
            .arg(&run);
        if reverse {
            sim.arg("--reverse");
        }
        let simulated = util::json_record(sim.arg("--json"));
        let trajectory = run.join("trajectory.csv");
        for (writer, name) in WRITERS {
            let bag = write_bag(
                dir.path(),
                writer,
                name,
                &[os("--trajectory"), trajectory.as_os_str()],
            );
            let scored_dir = dir.path().join(format!("scored_{name}"));
            // The direction is found from the drive itself.
            let scored = metrics(&[
                bag.as_os_str(),
                os("--reference"),
                world.as_os_str(),
                os("--laps"),
                os("1"),
                os("--out"),
                scored_dir.as_os_str(),
            ]);
            let what = format!("{writer}, reverse {reverse}");
            assert_eq!(scored["producer"], "recording", "{what}");
            assert_eq!(scored["reverse"], reverse, "{what}");
            for key in ["laps_completed", "end_reason", "odometry_samples"] {
                assert_eq!(scored[key], simulated[key], "{what}: {key}");
            }
            // The lap time within one odometry period (it is interpolated the same way).
            assert!(
                (f(&scored, "lap_seconds") - f(&simulated, "lap_seconds")).abs() < 0.05,
                "{what}: lap {} vs {}",
                scored["lap_seconds"],
                simulated["lap_seconds"]
            );
            for key in [
                "position_deviation_mae_m",
                "position_deviation_max_m",
                "position_deviation_bm",
                "position_deviation_bm_total_err",
                "percentage_completed",
                "percentage_completed_bm",
                "completed_distance_m",
                "sim_seconds",
            ] {
                let (a, b) = (f(&scored, key), f(&simulated, key));
                assert!(
                    (a - b).abs() <= 1e-6 * b.abs().max(1.0),
                    "{what}: {key} {a} vs simulator {b}"
                );
            }
            // The recorded commands are the odometry's own v, w: one per sample.
            assert_eq!(
                scored["commands"].as_u64(),
                simulated["odometry_samples"].as_u64(),
                "{what}"
            );
            for file in [
                "stats.json",
                "bm_stats.json",
                "trajectory.csv",
                "reference.csv",
                "path.png",
            ] {
                assert!(scored_dir.join(file).exists(), "{what}: {file}");
            }
        }
    }
}

#[test]
fn a_circle_driven_half_a_metre_outside_its_reference() {
    let dir = tempfile::tempdir().unwrap();
    // Reference: a circle of radius 20 m, 400 points, counter-clockwise from angle 0.
    let reference = dir.path().join("circle.csv");
    let mut csv = String::from("x,y\n");
    for i in 0..400 {
        let a = std::f64::consts::TAU * i as f64 / 400.0;
        csv += &format!("{},{}\n", 20.0 * a.cos(), 20.0 * a.sin());
    }
    std::fs::write(&reference, csv).unwrap();
    // Driven at radius 20.5 for 60 s at 5 m/s, odometry at 50 Hz: 2.33 turns.
    let source = [
        os("--circle"),
        os("20.5"),
        os("--seconds"),
        os("60"),
        os("--hz"),
        os("50"),
        os("--speed"),
        os("5"),
    ];
    let lap = std::f64::consts::TAU * 20.5 / 5.0;
    for (writer, name) in WRITERS {
        let bag = write_bag(dir.path(), writer, name, &source);
        let r = metrics(&[bag.as_os_str(), os("--reference"), reference.as_os_str()]);
        let what = writer.to_string();
        assert_eq!(r["reverse"], false, "{what}");
        assert_eq!(r["end_reason"], "end_of_recording", "{what}");
        assert_eq!(r["laps_completed"], 2, "{what}");
        assert!((f(&r, "lap_seconds") - lap).abs() < 0.02, "{what}: {r}");
        // The project's deviation is measured to the smoothed line: the 0.8 m Gaussian pulls
        // a 20 m circle in by σ²/2R = 1.6 cm, so the path lies 0.516 m outside it.
        let mae = f(&r, "position_deviation_mae_m");
        assert!((mae - 0.516).abs() < 0.002, "{what}: mae {mae}");
        // Behavior Metrics': every reference point 0.5 m from the path, 1000^0.5 = 31.6.
        let bm = f(&r, "position_deviation_bm");
        assert!(
            (bm / 1000f64.powf(0.5) - 1.0).abs() < 0.01,
            "{what}: bm {bm}"
        );
        assert!((f(&r, "sim_seconds") - 60.0).abs() < 1e-6, "{what}");
        assert!((f(&r, "command_suddenness")).abs() < 1e-9, "{what}");
        assert!((f(&r, "command_rate_hz") - 50.0).abs() < 0.1, "{what}");
    }
}

/// `metrics` with `args` fails with status 2 and an error that mentions each of `needles`.
fn fails_naming(args: &[&OsStr], needles: &[&str]) {
    let out = util::binary().arg("metrics").args(args).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    for n in needles {
        assert!(err.contains(n), "'{n}' not in: {err}");
    }
}

#[test]
fn cut_and_unsuitable_bags_are_errors_naming_the_file_and_topic() {
    let dir = tempfile::tempdir().unwrap();
    let reference = util::reference("simple_circuit");
    let source = [os("--circle"), os("20"), os("--seconds"), os("30")];
    let sqlite = write_bag(dir.path(), "rosbags-sqlite3", "sqlite_bag", &source);
    let mcap = write_bag(dir.path(), "mcap", "lap.mcap", &source);
    let db3 = std::fs::read_dir(&sqlite)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "db3"))
        .unwrap();
    // Each storage cut in the middle.
    for (file, cut_name) in [(&mcap, "cut.mcap"), (&db3, "cut.db3")] {
        let bytes = std::fs::read(file).unwrap();
        let cut = dir.path().join(cut_name);
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        fails_naming(
            &[cut.as_os_str(), os("--reference"), os(&reference)],
            &[cut_name, "truncated or damaged"],
        );
    }
    let junk = dir.path().join("junk.mcap");
    std::fs::write(&junk, "not a bag").unwrap();
    fails_naming(
        &[junk.as_os_str(), os("--reference"), os(&reference)],
        &["junk.mcap", "neither an MCAP file nor a SQLite3 database"],
    );
    // No laps to score.
    fails_naming(
        &[
            mcap.as_os_str(),
            os("--reference"),
            os(&reference),
            os("--laps"),
            os("0"),
        ],
        &["--laps", "0"],
    );
    // A topic that is not there, and one of the wrong type.
    fails_naming(
        &[
            mcap.as_os_str(),
            os("--reference"),
            os(&reference),
            os("--odom"),
            os("/F1ROS/odom"),
        ],
        &[
            "lap.mcap",
            "no topic /F1ROS/odom",
            "/odom [nav_msgs/msg/Odometry]",
        ],
    );
    fails_naming(
        &[
            sqlite.as_os_str(),
            os("--reference"),
            os(&reference),
            os("--cmd"),
            os("/clock"),
        ],
        &[
            "sqlite_bag",
            "topic /clock",
            "rosgraph_msgs/msg/Clock",
            "Twist",
        ],
    );
}

#[test]
fn behavior_metrics_perfect_bags_score_one_lap_each_against_their_lap() {
    // ROS 1 bags recorded by Behavior Metrics (its /F1ROS/odom, found without flags), each
    // against the perfect lap read from it: the lap is the recording, which ends short of its
    // first point by less than the metre Behavior Metrics' own reader allows.
    let bags = util::reference_circuits().join("../behavior-metrics/perfect_bags");
    for (bag, lap) in [
        ("lap-simple-circuit.bag", "simple_circuit"),
        ("lap-montmelo.bag", "montmelo"),
        ("lap-montreal.bag", "montreal"),
        ("lap-nurburgring.bag", "nurburgring"),
    ] {
        let r = metrics(&[
            bags.join(bag).as_os_str(),
            os("--reference"),
            os(&util::reference(lap)),
        ]);
        eprintln!(
            "{bag}: {} lap(s), {:.1} %, closed {:.2} m short, BM {:.2} %, {} samples",
            r["laps_completed"],
            f(&r, "percentage_completed"),
            f(&r, "lap_closed_short_m"),
            f(&r, "percentage_completed_bm"),
            r["odometry_samples"]
        );
        assert_eq!(r["bag_storage"], "ros1", "{bag}");
        assert_eq!(r["odometry_topic"], "/F1ROS/odom", "{bag}");
        assert_eq!(r["laps_completed"], 1, "{bag}: {r}");
        assert_eq!(f(&r, "percentage_completed"), 100.0, "{bag}");
        assert!(f(&r, "lap_closed_short_m") < 1.0, "{bag}");
        assert_eq!(r["start_reference_index"], 0, "{bag}");
        assert_eq!(r["reverse"], false, "{bag}");
        // Its stamps are all zero: the times are the recorder's.
        assert_eq!(r["time_source"], "receive_time", "{bag}");
        assert!(f(&r, "position_deviation_bm") < 1.01, "{bag}: {r}");
        assert!(
            (100.0..102.0).contains(&f(&r, "percentage_completed_bm")),
            "{bag}"
        );
        assert!(
            r["real_time_factor"].is_null() && r["wall_seconds"].is_null(),
            "{bag}"
        );
    }
}

#[test]
fn broken_ros1_bags_are_errors_naming_the_file_and_topic() {
    let dir = tempfile::tempdir().unwrap();
    let reference = util::reference("simple_circuit");
    let bag = write_bag(
        dir.path(),
        "rosbags-ros1",
        "lap.bag",
        &[os("--circle"), os("20"), os("--seconds"), os("30")],
    );
    let bytes = std::fs::read(&bag).unwrap();
    let cut = dir.path().join("cut.bag");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    fails_naming(
        &[cut.as_os_str(), os("--reference"), os(&reference)],
        &["cut.bag", "truncated"],
    );
    // Behavior Metrics' topic names: /odom is not there.
    fails_naming(
        &[
            bag.as_os_str(),
            os("--reference"),
            os(&reference),
            os("--odom"),
            os("/odom"),
        ],
        &[
            "lap.bag",
            "no topic /odom",
            "/F1ROS/odom [nav_msgs/msg/Odometry]",
        ],
    );
    // The circle is scored, its commands on /F1ROS/cmd_vel found by name.
    let r = metrics(&[bag.as_os_str(), os("--reference"), os(&reference)]);
    assert_eq!(r["command_topic"], "/F1ROS/cmd_vel");
    assert_eq!(r["clock_topic"], "/clock");
}
