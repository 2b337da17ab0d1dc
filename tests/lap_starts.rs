//! Lap statistics that hold wherever a run starts and whatever recorded it.
//!
//! The simulator's expert drives Behavior Metrics' four circuits (their perfect laps as the
//! circuits, `../shared/circuits/`) from where each Gazebo world spawns the car
//! (`../shared/gazebo-f1/worlds/*.world`), from mid-lap and from 1.2 m off the line, both
//! ways round, for one lap, two laps and a run cut short. Each run is scored again from a
//! rosbag2 MCAP and a SQLite3 bag and a ROS 1 bag of its odometry, all written by `rosbags`
//! (PyPI), and by the live recorder (the ROS node's) fed the same samples: laps, lap times,
//! completion, distances, start and Behavior Metrics' figures equal the simulator's to the
//! sample, and Behavior Metrics' figures equal SciPy running its procedure
//! (`pilotnet_factory.bm_reference`).
//!
//! By default SimpleCircuit runs every start (SciPy checking the runs from the spawn), the
//! other circuits the world's spawn pose both ways; `LAP_MATRIX=full` runs every start on
//! every circuit with every check (docs/metrics.md has its table:
//! `LAP_MATRIX=full cargo test --features tch --test lap_starts -- --nocapture
//! --test-threads 1`).

mod util;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use pilotnet_brain::base::geometry::{Pose2, Vec2};
use pilotnet_brain::base::sensor::Odometry;
use pilotnet_brain::base::timing::StepTimer;
use pilotnet_brain::driving::brain::{BrainCounters, BrainStats};
use pilotnet_brain::evaluation::circuit::{Circuit, RoadGeometry};
use pilotnet_brain::evaluation::laps::{Direction, EndReason};
use pilotnet_brain::evaluation::live::LiveLap;
use pilotnet_brain::evaluation::record::{Producer, RunInfo, TimeSource, REAL_TIME};
use pilotnet_brain::sim::gazebo;

/// The bag writers, the storage each writes and the file name it writes to.
const BAGS: &[(&str, &str)] = &[
    ("rosbags-mcap", "mcap"),
    ("rosbags-sqlite3", "sqlite3"),
    ("rosbags-ros1", "lap.bag"),
];

/// Where a run starts.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Start {
    /// Where the world spawns the car (turned round for a reverse run).
    World,
    /// On the line, half a lap from its first point.
    MidLap,
    /// A quarter lap along, 1.2 m to the left of the line.
    OffLine,
}

impl Start {
    fn name(self) -> &'static str {
        match self {
            Start::World => "world spawn",
            Start::MidLap => "mid-lap",
            Start::OffLine => "1.2 m off",
        }
    }
}

/// One circuit: its perfect lap and its Gazebo world.
struct Setup {
    name: &'static str,
    csv: String,
    world: PathBuf,
    circuit: Circuit,
    dir: tempfile::TempDir,
}

impl Setup {
    fn new(name: &'static str, world: &str) -> Setup {
        let csv = util::reference(name);
        let world = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/gazebo-f1/worlds")
            .join(format!("{world}.world"));
        assert!(world.exists(), "{} not found", world.display());
        let circuit = Circuit::load(&csv, RoadGeometry::behavior_metrics(), false).unwrap();
        Setup {
            name,
            csv,
            world,
            circuit,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// The `sim` flags that put the car at `start`.
    fn start_flags(&self, start: Start, reverse: bool) -> Vec<String> {
        let length = self.circuit.length();
        match start {
            Start::World => {
                let spawn = gazebo::spawn(&self.world).unwrap().expect("a spawn pose");
                let yaw = spawn.yaw + if reverse { std::f64::consts::PI } else { 0.0 };
                vec![
                    "--start-pose".into(),
                    format!("{},{},{}", spawn.p.x, spawn.p.y, yaw),
                ]
            }
            Start::MidLap => vec!["--start-at".into(), format!("{}", length / 2.0)],
            Start::OffLine => vec![
                "--start-at".into(),
                format!("{}", length / 4.0),
                "--start-left".into(),
                "1.2".into(),
            ],
        }
    }

    /// The expert's run from `start`: `extra` flags, the record, written to `out` if given.
    fn sim(&self, start: Start, reverse: bool, extra: &[&str], out: Option<&Path>) -> Value {
        let mut cmd = util::binary();
        cmd.args(["sim", "--pilot", "expert", "--circuit", &self.csv, "--json"])
            .args(self.start_flags(start, reverse))
            .args(extra);
        if reverse {
            cmd.arg("--reverse");
        }
        if let Some(out) = out {
            cmd.arg("--out").arg(out);
        }
        util::json_record(&mut cmd)
    }
}

/// A run driven and kept: its folder, and what the producers must reproduce from it.
struct Drive {
    what: String,
    out: PathBuf,
    /// (laps scored by the other producers, the simulator's record of that run).
    expected: Vec<(Option<u32>, Value)>,
}

/// `metrics BAG --reference CSV [--laps N] --json`.
fn metrics(bag: &Path, reference: &str, laps: Option<u32>) -> Value {
    let mut cmd = util::binary();
    cmd.arg("metrics")
        .arg(bag)
        .args(["--reference", reference, "--json"]);
    if let Some(n) = laps {
        cmd.args(["--laps", &n.to_string()]);
    }
    util::json_record(&mut cmd)
}

/// The odometry of a run's `trajectory.csv`.
fn odometry(trajectory: &Path) -> Vec<Odometry> {
    let mut reader = csv::Reader::from_path(trajectory).unwrap();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let f = |i: usize| r[i].parse::<f64>().unwrap();
            Odometry {
                stamp: f(0),
                pose: Pose2 {
                    p: Vec2::new(f(1), f(2)),
                    yaw: f(3),
                },
                v: f(4),
                w: f(5),
            }
        })
        .collect()
}

/// The live recorder's record of `samples` on `circuit`, for `laps` laps (every lap if none).
fn live(circuit: &Circuit, samples: &[Odometry], laps: Option<u32>) -> Value {
    let info = RunInfo {
        producer: Producer::RosNode,
        circuit: circuit.name.clone(),
        circuit_source: circuit.source.clone(),
        circuit_length_m: circuit.length(),
        pilot: "recorded".into(),
        backend: None,
        device: None,
        laps_requested: laps.unwrap_or(u32::MAX),
        camera_hz: None,
        latency: REAL_TIME.into(),
        time_source: TimeSource::RosSimTime,
        physics_hz: None,
    };
    let mut lap = LiveLap::new(circuit.clone(), Direction::Auto, info, None);
    let wall0 = Instant::now();
    for s in samples {
        if lap
            .record(s, wall0 + Duration::from_secs_f64(s.stamp))
            .is_some()
        {
            break;
        }
    }
    let stats = BrainStats::new(BrainCounters::default(), &StepTimer::new().stats(), None);
    serde_json::to_value(lap.run_record(EndReason::Shutdown, &stats)).unwrap()
}

fn f(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number in {v}"))
}

/// `ours` agrees with the simulator's `sim` on every figure of where and how the run drove.
fn same_run(what: &str, ours: &Value, sim: &Value) {
    for key in [
        "laps_completed",
        "odometry_samples",
        "reverse",
        "start_reference_index",
        "lap_completed",
    ] {
        assert_eq!(ours[key], sim[key], "{what}: {key}");
    }
    let close = |key: &str, a: f64, b: f64| {
        assert!(
            (a - b).abs() <= 1e-6 * b.abs().max(1.0),
            "{what}: {key} {a}, the simulator's {b}"
        );
    };
    for key in [
        "percentage_completed",
        "completed_distance_m",
        "sim_seconds",
        "position_deviation_mae_m",
        "position_deviation_max_m",
        "position_deviation_bm",
        "position_deviation_bm_total_err",
        "percentage_completed_bm",
        "start_offset_m",
        "start_lateral_m",
        "start_x_m",
        "start_y_m",
    ] {
        close(key, f(ours, key), f(sim, key));
    }
    for key in ["lap_seconds", "lap_seconds_bm"] {
        match (ours[key].as_f64(), sim[key].as_f64()) {
            (Some(a), Some(b)) => close(key, a, b),
            (a, b) => assert_eq!(a, b, "{what}: {key}"),
        }
    }
    let times = |v: &Value| -> Vec<f64> {
        v["lap_times_s"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_f64().unwrap())
            .collect()
    };
    let (a, b) = (times(ours), times(sim));
    assert_eq!(a.len(), b.len(), "{what}: lap_times_s");
    for (x, y) in a.iter().zip(&b) {
        close("lap_times_s", *x, *y);
    }
}

/// SciPy's Behavior Metrics figures for the run in `out` (its laps scored one by one, as the
/// port scores them past one lap), checked against the record `sim`.
fn scipy_agrees(what: &str, setup: &Setup, out: &Path, sim: &Value) -> Value {
    let trajectory = out.join("trajectory.csv");
    let reference = out.join("reference.csv");
    // The samples at which laps ended: where progress first reaches each lap's length.
    let length = f(sim, "circuit_length_m");
    let mut reader = csv::Reader::from_path(&trajectory).unwrap();
    let progress: Vec<f64> = reader
        .records()
        .map(|r| r.unwrap()[6].parse().unwrap())
        .collect();
    let laps = sim["laps_completed"].as_u64().unwrap() as usize;
    let ends: Vec<String> = (1..=laps)
        .filter_map(|k| progress.iter().position(|p| *p >= k as f64 * length))
        .map(|i| i.to_string())
        .collect();
    let scipy: Value = serde_json::from_str(&util::factory(
        "bm_reference",
        &[
            OsStr::new("--trajectory"),
            trajectory.as_os_str(),
            OsStr::new("--reference"),
            reference.as_os_str(),
            OsStr::new("--lap-ends"),
            OsStr::new(&ends.join(",")),
        ],
    ))
    .unwrap();
    for (key, theirs) in [
        ("position_deviation_bm", "position_deviation_mae"),
        ("percentage_completed_bm", "percentage_completed"),
    ] {
        let (a, b) = (f(sim, key), f(&scipy, theirs));
        assert!(
            (a / b - 1.0).abs() < 1e-4,
            "{what} ({}): {key} {a}, SciPy's {b}",
            setup.name
        );
    }
    scipy
}

/// Drives `starts` both ways round on `setup` (with a run cut short from the world's spawn
/// in `cut` directions), scores every run by every producer and checks them, and the runs
/// from the starts in `scipy_for` (the cut ones from the spawn's) against SciPy.
fn matrix(setup: &Setup, starts: &[Start], cut: &[bool], scipy_for: &[(Start, bool)]) {
    let mut drives: Vec<Drive> = Vec::new();
    let mut rows = Vec::new();
    for &start in starts {
        for reverse in [false, true] {
            let what = format!(
                "{} from {}{}",
                setup.name,
                start.name(),
                if reverse { ", reverse" } else { "" }
            );
            let out = setup
                .dir
                .path()
                .join(format!("{:?}_{reverse}", start).to_lowercase());
            let one = setup.sim(start, reverse, &["--laps", "1"], None);
            let two = setup.sim(start, reverse, &["--laps", "2"], Some(&out));
            assert_eq!(two["end_reason"], "lap_completed", "{what}: {two}");
            assert_eq!(two["reverse"], reverse, "{what}: the direction driven");
            let scipy = scipy_for
                .contains(&(start, reverse))
                .then(|| scipy_agrees(&what, setup, &out, &two));
            rows.push(row(&what, &two, scipy.as_ref()));
            drives.push(Drive {
                what,
                out,
                expected: vec![(Some(1), one), (Some(2), two)],
            });
        }
    }
    for &reverse in cut {
        let what = format!(
            "{} from world spawn{}, cut short",
            setup.name,
            if reverse { ", reverse" } else { "" }
        );
        let out = setup.dir.path().join(format!("cut_{reverse}"));
        // Sixty percent of the first run's lap time (the runs from the spawn come first).
        let timeout = 0.6 * f(&drives[0].expected[0].1, "lap_seconds");
        let short = setup.sim(
            Start::World,
            reverse,
            &["--timeout", &format!("{timeout}")],
            Some(&out),
        );
        assert_eq!(short["end_reason"], "timeout", "{what}");
        assert_eq!(short["laps_completed"], 0, "{what}");
        let scipy = scipy_for
            .contains(&(Start::World, reverse))
            .then(|| scipy_agrees(&what, setup, &out, &short));
        rows.push(row(&what, &short, scipy.as_ref()));
        drives.push(Drive {
            what,
            out,
            expected: vec![(None, short)],
        });
    }
    // Every run's odometry as three bags, written in one process.
    let mut jobs = Vec::new();
    for d in &drives {
        for (writer, name) in BAGS {
            jobs.push(serde_json::json!({
                "trajectory": d.out.join("trajectory.csv"),
                "writer": writer,
                "out": d.out.join(name),
            }));
        }
    }
    let batch = setup.dir.path().join("bags.json");
    std::fs::write(&batch, serde_json::to_string(&jobs).unwrap()).unwrap();
    util::factory("bags", &[OsStr::new("--batch"), batch.as_os_str()]);
    for d in &drives {
        let samples = odometry(&d.out.join("trajectory.csv"));
        for (laps, sim) in &d.expected {
            let what = format!("{}, {laps:?} laps scored", d.what);
            for (_, name) in BAGS {
                let scored = metrics(&d.out.join(name), &setup.csv, *laps);
                same_run(&format!("{what}, {name}"), &scored, sim);
            }
            same_run(
                &format!("{what}, live"),
                &live(&setup.circuit, &samples, *laps),
                sim,
            );
        }
    }
    for r in rows {
        eprintln!("{r}");
    }
}

/// A Markdown row of the table in docs/metrics.md.
fn row(what: &str, r: &Value, scipy: Option<&Value>) -> String {
    let times: Vec<String> = r["lap_times_s"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| format!("{:.2}", t.as_f64().unwrap()))
        .collect();
    let theirs =
        |key: &str, digits: usize| scipy.map_or("-".into(), |s| format!("{:.digits$}", f(s, key)));
    format!(
        "| {what} | {:.1} m, {:+.2} m (point {}) | {} | {} | {:.1} % | {:.1} m | {:.4} | {} | {:.2} % | {} |",
        f(r, "start_offset_m"),
        f(r, "start_lateral_m"),
        r["start_reference_index"],
        r["laps_completed"],
        if times.is_empty() {
            "-".to_string()
        } else {
            times.join(", ")
        },
        f(r, "percentage_completed"),
        f(r, "completed_distance_m"),
        f(r, "position_deviation_bm"),
        theirs("position_deviation_mae", 4),
        f(r, "percentage_completed_bm"),
        theirs("percentage_completed", 2),
    )
}

fn full() -> bool {
    std::env::var("LAP_MATRIX").is_ok_and(|v| v == "full")
}

const ALL_STARTS: [Start; 3] = [Start::World, Start::MidLap, Start::OffLine];

/// Every start both ways: the runs SciPy checks.
fn every_start() -> Vec<(Start, bool)> {
    ALL_STARTS
        .iter()
        .flat_map(|&s| [(s, false), (s, true)])
        .collect()
}

#[test]
fn simple_circuit_from_the_spawn_and_cut_short() {
    let setup = Setup::new("simple_circuit", "simple_circuit");
    // SciPy takes seconds a lap: by default it checks the runs from the spawn, cut or not.
    let scipy = if full() {
        every_start()
    } else {
        vec![(Start::World, false), (Start::World, true)]
    };
    matrix(&setup, &[Start::World], &[false, true], &scipy);
}

#[test]
fn simple_circuit_from_mid_lap_and_off_the_line() {
    let setup = Setup::new("simple_circuit", "simple_circuit");
    let scipy = if full() { every_start() } else { vec![] };
    matrix(&setup, &[Start::MidLap, Start::OffLine], &[], &scipy);
}

/// One of the larger circuits: every start with `LAP_MATRIX=full`, else the world's spawn
/// (both ways, SciPy left to the full run).
fn circuit(name: &'static str, world: &str) {
    let setup = Setup::new(name, world);
    if full() {
        matrix(&setup, &ALL_STARTS, &[false, true], &every_start());
    } else {
        matrix(&setup, &[Start::World], &[], &[]);
    }
}

#[test]
fn montmelo_from_the_worlds_spawn() {
    circuit("montmelo", "montmelo_line");
}

#[test]
fn montreal_from_the_worlds_spawn() {
    circuit("montreal", "montreal_line");
}

#[test]
fn nurburgring_from_the_worlds_spawn() {
    circuit("nurburgring", "nurburgring_line");
}
