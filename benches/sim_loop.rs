//! Benchmark of the embedded simulator: camera frame render time and the closed loop with the
//! expert, on one core. Prints figures; asserts nothing (targets live in docs/, not in tests).
//!
//! Run: `cargo bench --bench sim_loop` (add `-- --reference DIR` to also drive the reference
//! laps in DIR, e.g. `../shared/circuits`).
//! Targets: a frame in ≤ 1.5 ms; a 60 s lap in ≤ 2 s wall (real-time factor ≥ 30).

use std::time::Instant;

use pilotnet_brain::base::camera::CameraConfig;
use pilotnet_brain::base::timing::StepTimer;
use pilotnet_brain::driving::pilot::{ExpertConfig, ExpertPilot, Pilot};
use pilotnet_brain::evaluation::circuit::{Circuit, RoadGeometry};
use pilotnet_brain::sim::render::{Appearance, Renderer};
use pilotnet_brain::sim::{self, SimConfig, Track};

fn render_bench(circuit: &Circuit, appearance: &Appearance, label: &str) {
    let renderer = Renderer::new(circuit, CameraConfig::default());
    let mut frame = renderer.new_frame();
    let mut timer = StepTimer::new();
    let n = 400;
    let length = circuit.length();
    for i in 0..n + 20 {
        let (p, t) = circuit.centre.at(length * i as f64 / n as f64);
        let pose = pilotnet_brain::base::geometry::Pose2 {
            p,
            yaw: t.y.atan2(t.x),
        };
        let start = Instant::now();
        renderer.render(&pose, appearance, i as u64, &mut frame);
        if i >= 20 {
            timer.record(start.elapsed());
        }
    }
    let s = timer.stats();
    println!(
        "render {label:<28} mean {:.3} ms  p50 {:.3} ms  p99 {:.3} ms  (target <= 1.5 ms: {})",
        s.mean_ms,
        s.p50_ms,
        s.p99_ms,
        if s.p50_ms <= 1.5 { "met" } else { "MISSED" }
    );
}

fn lap_bench(circuit: &Circuit) {
    let config = SimConfig {
        timeout_s: 400.0,
        ..SimConfig::default()
    };
    let pilot: Box<dyn Pilot> = Box::new(ExpertPilot::new(
        config.world.camera,
        ExpertConfig::default(),
    ));
    let out = sim::run(&Track::from(circuit.clone()), pilot, &config)
        .expect("valid config")
        .record;
    let l = &out.laps;
    println!(
        "lap    {:<28} {:>6.1} s sim in {:>5.2} s wall: real-time factor {:>5.1}x  \
         (60 s lap in {:.2} s wall; target <= 2 s: {})  end {:?}, mae {:.3} m, {:.2} m/s",
        format!(
            "{}{}",
            circuit.name,
            if circuit.reversed { " (rev)" } else { "" }
        ),
        l.sim_seconds,
        out.wall_seconds,
        out.real_time_factor,
        60.0 / out.real_time_factor,
        if out.real_time_factor >= 30.0 {
            "met"
        } else {
            "MISSED"
        },
        l.end_reason,
        l.position_deviation_mae_m,
        l.average_speed_mps,
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let reference = args
        .iter()
        .position(|a| a == "--reference")
        .and_then(|i| args.get(i + 1));
    let road = RoadGeometry::default();
    let circuit = Circuit::load("switchback", road, false).expect("built-in");
    render_bench(&circuit, &Appearance::default(), "plain");
    render_bench(
        &circuit,
        &Appearance {
            noise: 6.0,
            texture: 12.0,
            brightness: 0.8,
            seed: 1,
            ..Appearance::default()
        },
        "noise + texture + lighting",
    );
    for name in ["lakeside", "switchback", "highland"] {
        lap_bench(&Circuit::load(name, road, false).expect("built-in"));
    }
    if let Some(dir) = reference {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .expect("reference folder")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "csv"))
            .collect();
        files.sort();
        for f in files {
            lap_bench(&Circuit::load(f.to_str().expect("utf-8 path"), road, false).expect("loads"));
        }
    }
}
