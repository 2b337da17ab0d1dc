//! Benchmark of the embedded simulator: camera frame render time, and the closed loop with the
//! expert and with the shipped fp32 network, in both looks (Behavior Metrics' Gazebo look and
//! the classic one) side by side, on one core. Prints figures; asserts nothing (targets live
//! in docs/, not in tests).
//!
//! Run: `cargo bench --bench sim_loop` (add `-- --worlds DIR` to also render and drive the
//! Gazebo worlds in DIR, e.g. `../shared/gazebo-f1`; `--reference DIR` drives the `x,y` laps
//! in DIR, e.g. `../shared/circuits`; `--model PATH` drives another network than the shipped
//! fp32; `--classic-model PATH` a network trained on the classic look drives it there, e.g.
//! an earlier build's fp32 from git).
//! Targets: a frame in ≤ 2 ms (Gazebo look; 1.5 ms classic); the loop at ≥ 30× real time with
//! the expert and ≥ 15× with the fp32 network.

use std::path::{Path, PathBuf};
use std::time::Instant;

use pilotnet_brain::base::geometry::Pose2;
use pilotnet_brain::base::timing::StepTimer;
use pilotnet_brain::driving::pilot::{ExpertConfig, ExpertPilot, NetworkPilot, Pilot};
use pilotnet_brain::inference::backend::BackendConfig;
use pilotnet_brain::inference::manifest::resolve_model;
use pilotnet_brain::sim::render::Appearance;
use pilotnet_brain::sim::world::{Capture, World, WorldConfig};
use pilotnet_brain::sim::{self, Look, SimConfig, Track};

/// Renders 400 frames along the centre line of `track` (after 20 unmeasured ones).
fn render_bench(track: &Track, appearance: Appearance, label: &str) {
    let look = track.look();
    let config = WorldConfig {
        camera: look.camera(),
        appearance,
        ..WorldConfig::default()
    };
    let world = World::new(track, &config).expect("valid world settings");
    let camera = world.camera();
    let mut frame = camera.new_frame();
    let mut timer = StepTimer::new();
    let n = 400;
    let circuit = &track.circuit;
    let length = circuit.length();
    for i in 0..n + 20 {
        let (p, t) = circuit.centre.at(length * i as f64 / n as f64);
        let capture = Capture {
            stamp: i as f64 * 0.05,
            seq: i as u64 + 1,
            pose: Pose2 {
                p,
                yaw: t.y.atan2(t.x),
            },
        };
        let start = Instant::now();
        camera.render(&capture, &mut frame);
        if i >= 20 {
            timer.record(start.elapsed());
        }
    }
    let s = timer.stats();
    let target = match look {
        Look::BehaviorMetrics => 2.0,
        Look::Classic => 1.5,
    };
    println!(
        "render {:<8} {label:<34} mean {:.3} ms  p50 {:.3} ms  p99 {:.3} ms  (target <= {target} ms: {})",
        look.as_str(),
        s.mean_ms,
        s.p50_ms,
        s.p99_ms,
        if s.p50_ms <= target { "met" } else { "MISSED" }
    );
}

/// Who drives a benchmarked lap.
#[derive(Clone, Copy)]
enum Driver<'a> {
    Expert,
    Network(&'a Path),
}

/// Drives one lap of `track` and prints its real-time factor.
fn lap_bench(track: &Track, driver: Driver<'_>, label: &str) {
    let look = track.look();
    let mut config = SimConfig {
        timeout_s: 400.0,
        ..SimConfig::default()
    };
    config.world.camera = look.camera();
    let (pilot, who, target): (Box<dyn Pilot>, &str, f64) = match driver {
        Driver::Expert => (
            Box::new(ExpertPilot::new(
                config.world.camera,
                ExpertConfig::default(),
            )),
            "expert",
            30.0,
        ),
        Driver::Network(model) => match NetworkPilot::open(model, &BackendConfig::default()) {
            Ok(p) => (Box::new(p), "fp32", 15.0),
            Err(e) => {
                println!("lap    {label}: no network ({e})");
                return;
            }
        },
    };
    let out = sim::run(track, pilot, &config)
        .expect("valid config")
        .record;
    let l = &out.laps;
    // The simulator always knows its wall time.
    let (wall, rtf) = (
        out.wall_seconds.unwrap_or(0.0),
        out.real_time_factor.unwrap_or(0.0),
    );
    println!(
        "lap    {:<8} {who:<6} {label:<26} {:>6.1} s sim in {:>5.2} s wall: real-time factor {:>5.1}x  \
         (target >= {target}x: {})  end {:?}, mae {:.3} m, {:.2} m/s",
        look.as_str(),
        l.sim_seconds,
        wall,
        rtf,
        if rtf >= target {
            "met"
        } else {
            "MISSED"
        },
        l.end_reason,
        l.position_deviation_mae_m,
        l.average_speed_mps,
    );
}

/// The value after `flag` on the command line.
fn arg(args: &[String], flag: &str) -> Option<PathBuf> {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from)
}

/// Files in `dir` named `name` one level down (`dir/*/name`), sorted.
fn worlds_in(dir: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("--worlds folder")
        .filter_map(|e| e.ok().map(|e| e.path().join("model.sdf")))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let model = arg(&args, "--model").unwrap_or_else(|| PathBuf::from("fp32"));
    let model = resolve_model(&model).ok();
    let looks = [Look::Classic, Look::BehaviorMetrics];
    let builtin = |name: &str, look| Track::load(name, None, false, look).expect("built-in");

    let augmented = Appearance {
        noise: 6.0,
        texture: 12.0,
        brightness: 0.8,
        seed: 1,
        ..Appearance::default()
    };
    for look in looks {
        let track = builtin("switchback", look);
        render_bench(&track, Appearance::default(), "switchback");
        render_bench(&track, augmented, "switchback noise+texture+lighting");
    }
    let worlds: Vec<Track> = arg(&args, "--worlds")
        .map(|dir| {
            // Folders that are not circuits (the car's model) are named and skipped.
            worlds_in(&dir)
                .iter()
                .filter_map(|w| {
                    Track::world(w, false)
                        .map_err(|e| println!("skipped {}: {e}", w.display()))
                        .ok()
                })
                .collect()
        })
        .unwrap_or_default();
    for w in &worlds {
        render_bench(
            w,
            Appearance::default(),
            &format!("world {}", w.circuit.name),
        );
    }

    // The shipped networks see Behavior Metrics' look; in the classic look a network trained
    // on it drives (an earlier build's fp32, `--classic-model`).
    let classic_model = arg(&args, "--classic-model");
    if model.is_some() && classic_model.is_none() {
        println!("lap    classic  fp32: skipped (no --classic-model; the shipped networks expect the gazebo look)");
    }
    for name in ["lakeside", "switchback", "highland"] {
        for look in looks {
            lap_bench(&builtin(name, look), Driver::Expert, name);
        }
        for look in looks {
            let m = match look {
                Look::Classic => classic_model.as_deref(),
                Look::BehaviorMetrics => model.as_deref(),
            };
            if let Some(m) = m {
                lap_bench(&builtin(name, look), Driver::Network(m), name);
            }
        }
    }
    for w in &worlds {
        let label = format!("world {}", w.circuit.name);
        lap_bench(w, Driver::Expert, &label);
        if let Some(m) = &model {
            lap_bench(w, Driver::Network(m), &label);
        }
    }
    if let Some(dir) = arg(&args, "--reference") {
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .expect("--reference folder")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "csv"))
            .collect();
        files.sort();
        for f in files {
            let spec = f.to_str().expect("utf-8 path");
            for look in looks {
                let track = Track::load(spec, None, false, look).expect("loads");
                lap_bench(&track, Driver::Expert, &track.circuit.name.clone());
            }
        }
    }
}
