//! The network path end to end: preprocessing against OpenCV, each backend against PyTorch,
//! the two backends against each other, and clear errors for bad models.

mod util;

use std::path::{Path, PathBuf};

use pilotnet_brain::backend::{self, BackendConfig, BackendKind};
use pilotnet_brain::circuit::{Circuit, RoadGeometry};
use pilotnet_brain::model::{Crop, InputSpec, Model, Size};
use pilotnet_brain::pilot::{NetworkPilot, Pilot};
use pilotnet_brain::preprocess::Preprocessor;
use pilotnet_brain::sim::camera::CameraConfig;
use pilotnet_brain::sim::render::{Appearance, Renderer};

fn compiled_backends() -> Vec<(BackendKind, &'static str)> {
    let mut found = Vec::new();
    if cfg!(feature = "ort") {
        found.push((BackendKind::Ort, "onnx"));
    }
    if cfg!(feature = "tch") {
        found.push((BackendKind::Tch, "pt"));
    }
    found
}

fn open(path: &Path) -> NetworkPilot {
    NetworkPilot::open(path, &BackendConfig::default())
        .unwrap_or_else(|e| panic!("cannot open {}: {e}", path.display()))
}

#[test]
fn preprocessing_matches_opencv_within_one_level() {
    let dir = util::testnet();
    let frame = util::load_png(&dir.join("frame.png"));
    let opencv = util::load_png(&dir.join("frame_opencv.png"));
    let mut pre = Preprocessor::new(&InputSpec::behavior_metrics());
    let mut ours = vec![0u8; 200 * 66 * 3];
    pre.run_u8(&frame, &mut ours).unwrap();
    let diffs: Vec<i32> = ours
        .iter()
        .zip(&opencv.data)
        .map(|(a, b)| (*a as i32 - *b as i32).abs())
        .collect();
    let max = diffs.iter().max().copied().unwrap();
    let off = diffs.iter().filter(|d| **d > 0).count();
    eprintln!(
        "max difference {max}, {off} of {} values differ",
        diffs.len()
    );
    assert!(max <= 1, "a pixel differs from OpenCV by {max} levels");
}

/// The golden 200x66 frame goes in as is (identity crop and resize), so the comparison is
/// of the networks alone.
#[test]
fn each_backend_matches_pytorch_on_the_golden_input() {
    let dir = util::testnet();
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let want: Vec<f32> = expected["raw_outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap() as f32)
        .collect();
    let small = util::load_png(&dir.join("frame_opencv.png"));
    for (kind, ext) in compiled_backends() {
        let mut model = Model::open(&dir.join(format!("pilotnet_dls.{ext}"))).unwrap();
        model.input = InputSpec {
            frame: Size {
                width: 200,
                height: 66,
            },
            crop: Crop {
                top: 0,
                bottom: 66,
                left: 0,
                right: 200,
            },
            ..model.input
        };
        let backend = backend::open(&model, &BackendConfig::default()).unwrap();
        assert_eq!(backend.kind(), kind);
        let mut pilot = NetworkPilot::new(&model, backend);
        let got = pilot.infer(&small).unwrap().to_vec();
        eprintln!("{kind:?}: {got:?}, PyTorch {want:?}");
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g - w).abs() < 1e-4,
                "{kind:?} gives {got:?}, PyTorch {want:?}"
            );
        }
    }
}

/// Rendered frames along a lap: both engines give the same (v, w) within 1e-4.
#[cfg(all(feature = "ort", feature = "tch"))]
#[test]
fn ort_and_tch_agree_on_rendered_frames() {
    let dir = util::testnet();
    let mut ort = open(&dir.join("pilotnet_dls.onnx"));
    let mut tch = open(&dir.join("pilotnet_dls.pt"));
    let circuit = Circuit::load("lakeside", RoadGeometry::default(), false).unwrap();
    let renderer = Renderer::new(&circuit, CameraConfig::default());
    let mut frame = renderer.new_frame();
    let appearance = Appearance {
        noise: 6.0,
        texture: 10.0,
        ..Appearance::default()
    };
    let mut worst = 0.0f64;
    let mut distinct = std::collections::BTreeSet::new();
    for i in 0..40u64 {
        let s = circuit.length() * i as f64 / 40.0;
        let mut pose = circuit.pose_at(s);
        pose.yaw += 0.15 * ((i % 5) as f64 - 2.0);
        renderer.render(&pose, &appearance, i, &mut frame);
        let a = ort.drive(&frame, None).unwrap();
        let b = tch.drive(&frame, None).unwrap();
        worst = worst.max((a.v - b.v).abs()).max((a.w - b.w).abs());
        let raw_a = ort.infer(&frame).unwrap().to_vec();
        let raw_b = tch.infer(&frame).unwrap().to_vec();
        for (x, y) in raw_a.iter().zip(&raw_b) {
            assert!(
                (x - y).abs() < 1e-4,
                "frame {i}: ort {raw_a:?}, tch {raw_b:?}"
            );
        }
        distinct.insert((a.w * 1e4) as i64);
    }
    eprintln!(
        "largest (v, w) difference {worst:e}; {} distinct w",
        distinct.len()
    );
    assert!(
        distinct.len() > 10,
        "the frames should give different outputs"
    );
}

fn scratch_model(dir: &Path, name: &str, bytes: &[u8], description: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    std::fs::write(path.with_extension("yaml"), description).unwrap();
    path
}

#[test]
fn bad_models_are_clear_errors() {
    let testnet = util::testnet();
    let good_yaml = std::fs::read_to_string(testnet.join("pilotnet_dls.yaml")).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    for (_, ext) in compiled_backends() {
        let real = std::fs::read(testnet.join(format!("pilotnet_dls.{ext}"))).unwrap();
        let cases = [
            (
                scratch_model(
                    tmp.path(),
                    &format!("corrupt.{ext}"),
                    b"not a model",
                    &good_yaml,
                ),
                "cannot load model",
            ),
            (
                scratch_model(
                    tmp.path(),
                    &format!("truncated.{ext}"),
                    &real[..real.len() / 2],
                    &good_yaml,
                ),
                "cannot load model",
            ),
            (
                scratch_model(
                    tmp.path(),
                    &format!("wide.{ext}"),
                    &real,
                    &good_yaml.replace("width: 200", "width: 320"),
                ),
                "does not match its description",
            ),
            (
                scratch_model(
                    tmp.path(),
                    &format!("three.{ext}"),
                    &real,
                    &good_yaml.replace("count: 2", "count: 3"),
                ),
                "returns 2 values, the description says output.count 3",
            ),
        ];
        for (path, expected) in cases {
            let err = match NetworkPilot::open(&path, &BackendConfig::default()) {
                Ok(_) => panic!("{} loaded", path.display()),
                Err(e) => e.to_string(),
            };
            eprintln!("{err}");
            assert!(err.contains(expected), "{err:?} lacks {expected:?}");
            assert!(
                err.contains(&path.display().to_string()),
                "{err:?} does not name the file"
            );
        }
        let missing = tmp.path().join(format!("missing.{ext}"));
        let err = NetworkPilot::open(&missing, &BackendConfig::default())
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("missing") && err.contains("cannot read"),
            "{err}"
        );
    }
}

#[test]
fn backend_and_format_must_agree() {
    let dir = util::testnet();
    let model = Model::open(&dir.join("pilotnet_dls.onnx")).unwrap();
    let config = BackendConfig {
        kind: Some(BackendKind::Tch),
        ..BackendConfig::default()
    };
    let err = backend::open(&model, &config).err().unwrap().to_string();
    assert!(
        err.contains("cannot run onnx models") && err.contains("use ort"),
        "{err}"
    );
}

#[test]
fn nan_outputs_never_reach_the_vehicle() {
    let dir = util::testnet();
    for (_, ext) in compiled_backends() {
        let mut pilot = open(&dir.join(format!("nan.{ext}")));
        let frame = util::load_png(&dir.join("frame.png"));
        let err = pilot.drive(&frame, None).unwrap_err().to_string();
        assert!(err.contains("not finite"), "{err}");
        assert_eq!(pilot.non_finite_outputs(), 1);
    }
}
