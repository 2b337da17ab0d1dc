//! The shipped models (`models/`, made by `pilotnet_factory.build --ship models`): each matches
//! its manifest entry (sha256, size, description) and loads through its backend; the fp32
//! network drives every Behavior Metrics reference circuit both ways within 1.5× the expert's
//! position deviation; every shipped variant completes SimpleCircuit and Montreal.

mod util;

use std::path::Path;

use pilotnet_brain::driving::pilot::{ExpertConfig, ExpertPilot, NetworkPilot, Pilot};
use pilotnet_brain::evaluation::circuit::{Circuit, RoadGeometry};
use pilotnet_brain::evaluation::laps::{EndReason, LapStats};
use pilotnet_brain::inference::backend::BackendConfig;
use pilotnet_brain::inference::manifest::{Manifest, Variant};
use pilotnet_brain::sim::{self, SimConfig, Track};

/// The network's position deviation may be at most this many times the expert's (measured:
/// 0.95–1.30, docs/factory.md).
const MAE_RATIO: f64 = 1.5;

fn manifest() -> Manifest {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    Manifest::read(&dir).unwrap_or_else(|e| panic!("{e}"))
}

fn compiled(v: &Variant) -> bool {
    v.backend.compiled()
}

fn lap(spec: &str, reverse: bool, pilot: Box<dyn Pilot>) -> LapStats {
    let circuit = Circuit::load(spec, RoadGeometry::default(), reverse).expect("circuit loads");
    let config = SimConfig {
        timeout_s: 60.0 + circuit.length() / 3.0,
        ..SimConfig::default()
    };
    let r = sim::run(&Track::from(circuit), pilot, &config)
        .expect("valid settings")
        .record;
    let safety = r.brain.counters.safety;
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
fn fp32_drives_every_reference_circuit_close_to_the_expert() {
    let m = manifest();
    let fp32 = m.variant("fp32").unwrap();
    let mut failures = Vec::new();
    for name in ["simple_circuit", "montmelo", "montreal", "nurburgring"] {
        for reverse in [false, true] {
            let spec = util::reference(name);
            let camera = SimConfig::default().world.camera;
            let expert = lap(
                &spec,
                reverse,
                Box::new(ExpertPilot::new(camera, ExpertConfig::default())),
            );
            let net = lap(&spec, reverse, network(&m, fp32));
            let ratio = net.position_deviation_mae_m / expert.position_deviation_mae_m;
            eprintln!(
                "{name} reverse={reverse}: network MAE {:.4} m, expert {:.4} m, ratio {ratio:.2}",
                net.position_deviation_mae_m, expert.position_deviation_mae_m
            );
            if net.end_reason != EndReason::LapCompleted || ratio > MAE_RATIO {
                failures.push(format!(
                    "{name} reverse={reverse}: {net:?} (ratio {ratio:.2})"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn every_shipped_variant_completes_simple_circuit_and_montreal() {
    let m = manifest();
    let mut failures = Vec::new();
    for v in m.shipped().filter(|v| compiled(v)) {
        for name in ["simple_circuit", "montreal"] {
            let stats = lap(&util::reference(name), false, network(&m, v));
            eprintln!(
                "{} on {name}: {:?}, MAE {:.4} m",
                v.name, stats.end_reason, stats.position_deviation_mae_m
            );
            if stats.end_reason != EndReason::LapCompleted {
                failures.push(format!("{} on {name}: {stats:?}", v.name));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
