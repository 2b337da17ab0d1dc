//! The cost of a live run's record as the run grows: the ROS node checkpoints its statistics
//! every `summary_period_s` (1 s by default), and each checkpoint scores the whole run so far.
//! Odometry at 30 Hz driving Behavior Metrics' SimpleCircuit reference at 5 m/s; after each
//! simulated minute, side by side: Behavior Metrics' scores of the whole path from scratch
//! (what a checkpoint cost when every lap was scored again) and the lap recorder's record,
//! which scores each completed lap once, as it ends. Asserts nothing.
//!
//! Run: `cargo bench --bench live_checkpoint` (`-- --minutes M` for another length).

use std::path::Path;
use std::time::Instant;

use pilotnet_brain::base::geometry::{Pose2, Vec2};
use pilotnet_brain::base::sensor::Odometry;
use pilotnet_brain::evaluation::circuit::{Circuit, RoadGeometry};
use pilotnet_brain::evaluation::laps::{BmScores, Direction, EndReason, LapRecorder};

const REFERENCE: &str = "../shared/circuits/simple_circuit.csv";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let minutes: u32 = match args.iter().position(|a| a == "--minutes") {
        None => 10,
        Some(i) => match args.get(i + 1).map(|m| m.parse::<u32>()) {
            Some(Ok(m)) if m > 0 => m,
            _ => {
                let given = args.get(i + 1).map_or("nothing", String::as_str);
                eprintln!("--minutes: expected a whole number above 0, got '{given}'");
                std::process::exit(2);
            }
        },
    };
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(REFERENCE);
    let circuit = match Circuit::load(&path.to_string_lossy(), RoadGeometry::default(), false) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            std::process::exit(2);
        }
    };
    let mut rec = LapRecorder::for_circuit(&circuit, 1_000_000, Direction::Auto);
    let (centre, length) = (circuit.centre.clone(), circuit.length());
    println!(
        "{} ({length:.0} m), 30 Hz odometry at 5 m/s; per simulated minute, ms:",
        circuit.name
    );
    println!("minute  samples  laps  whole_path_from_scratch_ms  record_ms  ratio");
    let mut i = 0u64;
    for minute in 1..=minutes {
        for _ in 0..1800 {
            let t = i as f64 / 30.0;
            let (p, tangent) = centre.at((5.0 * t) % length);
            let odom = Odometry {
                stamp: t,
                pose: Pose2 {
                    p,
                    yaw: tangent.y.atan2(tangent.x),
                },
                v: 5.0,
                w: 0.0,
            };
            rec.record(&odom);
            i += 1;
        }
        let samples = rec.samples();
        let positions: Vec<Vec2> = samples.iter().map(|s| Vec2::new(s.x, s.y)).collect();
        let times: Vec<f64> = samples.iter().map(|s| s.t).collect();
        // Where each lap ended: the first sample past each multiple of the lap length.
        let lap_ends: Vec<usize> = (1..=rec.laps_completed())
            .filter_map(|k| {
                samples
                    .iter()
                    .position(|s| s.progress_m >= f64::from(k) * length)
            })
            .collect();
        let began = Instant::now();
        let scratch = BmScores::of(&circuit.reference_points, &positions, &times, &lap_ends);
        let scratch_ms = began.elapsed().as_secs_f64() * 1e3;
        let began = Instant::now();
        let stats = rec.finish(EndReason::InProgress);
        let record_ms = began.elapsed().as_secs_f64() * 1e3;
        let same = if stats.bm == scratch {
            ""
        } else {
            "  (scores differ!)"
        };
        println!(
            "{minute:>6}  {:>7}  {:>4}  {scratch_ms:>26.2}  {record_ms:>9.2}  {:>5.1}{same}",
            samples.len(),
            stats.laps_completed,
            scratch_ms / record_ms
        );
    }
}
