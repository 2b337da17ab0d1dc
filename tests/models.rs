//! The shipped models (`models/`, made by `pilotnet_factory.build --ship models`): each matches
//! its manifest entry (sha256, size, description) and loads through its backend; the fp32
//! network completes Behavior Metrics' four Gazebo worlds and the built-in circuits both ways,
//! close to what was measured, and two of the worlds in Gazebo's own light; every shipped variant completes the SimpleCircuit and Montreal
//! worlds within 1.5x the fp32 network's position deviation.

mod util;

use std::path::Path;

use pilotnet_brain::driving::pilot::{NetworkPilot, Pilot};
use pilotnet_brain::evaluation::laps::{EndReason, LapStats};
use pilotnet_brain::inference::backend::BackendConfig;
use pilotnet_brain::inference::manifest::{Manifest, Variant};
use pilotnet_brain::sim::gazebo::Light;
use pilotnet_brain::sim::world::WorldConfig;
use pilotnet_brain::sim::{self, Look, SimConfig, Track};

/// A lap's position deviation may be this much above the measured value.
const MAE_HEADROOM: f64 = 1.5;

/// The fp32 network in the first look, measured (`docs/factory.md`): (world or built-in
/// circuit, reverse, position deviation MAE in m). The expert drives the same worlds at
/// 0.008–0.019 m.
const FP32: &[(&str, bool, f64)] = &[
    ("world:simple_circuit", false, 0.0292),
    ("world:simple_circuit", true, 0.0220),
    ("world:montmelo_line", false, 0.0164),
    ("world:montmelo_line", true, 0.0230),
    ("world:montreal_line", false, 0.0227),
    ("world:montreal_line", true, 0.0223),
    ("world:nurburgring_line", false, 0.0270),
    ("world:nurburgring_line", true, 0.0232),
    ("lakeside", false, 0.0152),
    ("lakeside", true, 0.0215),
    ("switchback", false, 0.0192),
    ("switchback", true, 0.0220),
    ("highland", false, 0.0168),
    ("highland", true, 0.0284),
];

/// The fp32 network in Gazebo's own light (each world file's `<scene>`, as its camera frames
/// show it; `sim --world WORLD.world --light world`), measured (`docs/factory.md`): (world
/// file in `../shared/gazebo-f1/worlds`, reverse, MAE in m). The networks trained in the first
/// look alone left the road within 6–144 m here.
const FP32_WORLD_LIGHT: &[(&str, bool, f64)] = &[
    ("simple_circuit", false, 0.0364),
    ("montreal_line", false, 0.0302),
];

/// Every shipped variant's position deviation on the SimpleCircuit and Montreal worlds stays
/// within this factor of the fp32 network's on the same lap (each variant is trimmed on the
/// training circuits by `pilotnet_factory.trim`).
const VARIANT_MAE_RATIO: f64 = 1.5;

fn manifest() -> Manifest {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    Manifest::read(&dir).unwrap_or_else(|e| panic!("{e}"))
}

fn compiled(v: &Variant) -> bool {
    v.backend.compiled()
}

/// A Gazebo world by `world:FOLDER`, else a built-in circuit, in Behavior Metrics' look.
fn track(spec: &str, reverse: bool) -> Track {
    match spec.strip_prefix("world:") {
        Some(name) => Track::world(&util::world(name), reverse),
        None => Track::load(spec, None, reverse, Look::BehaviorMetrics),
    }
    .unwrap_or_else(|e| panic!("{spec}: {e}"))
}

fn lap(spec: &str, reverse: bool, pilot: Box<dyn Pilot>) -> LapStats {
    drive(&track(spec, reverse), pilot)
}

/// One lap of `track` by `pilot`, lockstep, through the track's camera.
fn drive(track: &Track, pilot: Box<dyn Pilot>) -> LapStats {
    let spec = &track.circuit.name;
    let reverse = track.circuit.reversed;
    let config = SimConfig {
        timeout_s: 60.0 + track.circuit.length() / 3.0,
        world: WorldConfig {
            camera: track.camera(),
            ..WorldConfig::default()
        },
        ..SimConfig::default()
    };
    let r = sim::run(track, pilot, &config)
        .expect("valid settings")
        .record;
    let safety = r.brain.unwrap().counters.safety;
    assert_eq!(
        safety.pilot_errors + safety.non_finite_commands,
        0,
        "{spec} (reverse: {reverse}): pilot errors"
    );
    r.laps
}

fn network(manifest: &Manifest, v: &Variant) -> Box<dyn Pilot> {
    let path = manifest.dir.join(&v.file);
    Box::new(
        NetworkPilot::open(&path, &BackendConfig::default())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
}

#[test]
fn shipped_models_match_the_manifest_and_load() {
    let m = manifest();
    let shipped: Vec<&Variant> = m.shipped().collect();
    assert!(shipped.iter().any(|v| v.name == "fp32"), "fp32 must ship");
    let total: u64 = shipped.iter().map(|v| v.size_bytes).sum();
    assert!(total < 40_000_000, "shipped models take {total} bytes");
    for v in &shipped {
        m.verify(v).unwrap_or_else(|e| panic!("{e}"));
        if compiled(v) {
            drop(network(&m, v));
        }
    }
    // Nothing in models/ that the manifest does not list as shipped.
    for entry in std::fs::read_dir(&m.dir).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if name.ends_with(".onnx") || name.ends_with(".pt") {
            assert!(
                shipped.iter().any(|v| v.file == name),
                "models/{name} is not a shipped variant of the manifest"
            );
        }
    }
}

#[test]
fn fp32_completes_every_world_and_builtin_circuit_both_ways() {
    let m = manifest();
    let fp32 = m.variant("fp32").unwrap();
    let mut failures = Vec::new();
    for &(spec, reverse, measured) in FP32 {
        let net = lap(spec, reverse, network(&m, fp32));
        eprintln!(
            "{spec} reverse={reverse}: {:?}, MAE {:.4} m (measured {measured}), score {:?}",
            net.end_reason, net.position_deviation_mae_m, net.bm.position_deviation_bm
        );
        if net.end_reason != EndReason::LapCompleted
            || net.position_deviation_mae_m > measured * MAE_HEADROOM
        {
            failures.push(format!("{spec} reverse={reverse}: {net:?}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn fp32_drives_in_gazebos_own_light() {
    let m = manifest();
    let fp32 = m.variant("fp32").unwrap();
    let mut failures = Vec::new();
    for &(name, reverse, measured) in FP32_WORLD_LIGHT {
        let path = util::world(name)
            .parent()
            .and_then(Path::parent)
            .unwrap()
            .join(format!("worlds/{name}.world"));
        let track = Track::world_in(&path, reverse, Light::World)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let net = drive(&track, network(&m, fp32));
        eprintln!(
            "{name} reverse={reverse}, world light: {:?}, MAE {:.4} m (measured {measured})",
            net.end_reason, net.position_deviation_mae_m
        );
        if net.end_reason != EndReason::LapCompleted
            || net.position_deviation_mae_m > measured * MAE_HEADROOM
        {
            failures.push(format!("{name} reverse={reverse}: {net:?}"));
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn every_shipped_variant_drives_simple_circuit_and_montreal_within_1_5x_fp32() {
    let m = manifest();
    let fp32 = m.variant("fp32").unwrap();
    let mut failures = Vec::new();
    for spec in ["world:simple_circuit", "world:montreal_line"] {
        let base = lap(spec, false, network(&m, fp32)).position_deviation_mae_m;
        let limit = base * VARIANT_MAE_RATIO;
        for v in m.shipped().filter(|v| compiled(v) && v.name != "fp32") {
            let stats = lap(spec, false, network(&m, v));
            eprintln!(
                "{} on {spec}: {:?}, MAE {:.4} m ({:.2}x fp32's {base:.4}), score {:?}",
                v.name,
                stats.end_reason,
                stats.position_deviation_mae_m,
                stats.position_deviation_mae_m / base,
                stats.bm.position_deviation_bm
            );
            if stats.end_reason != EndReason::LapCompleted || stats.position_deviation_mae_m > limit
            {
                failures.push(format!(
                    "{} on {spec}: MAE {:.4} m over {limit:.4} ({VARIANT_MAE_RATIO}x fp32's): \
                     {stats:?}",
                    v.name, stats.position_deviation_mae_m
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
