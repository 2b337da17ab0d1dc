//! The network path end to end: preprocessing against OpenCV, each backend against PyTorch,
//! the backends against each other, and clear errors for bad models.

mod util;

use std::path::{Path, PathBuf};

use pilotnet_brain::driving::pilot::{NetworkPilot, Pilot};
use pilotnet_brain::inference::backend::{self, BackendConfig, BackendKind};
use pilotnet_brain::inference::model::{Crop, InputSpec, Model, Size};
use pilotnet_brain::inference::preprocess::Preprocessor;

fn compiled_backends() -> Vec<(BackendKind, &'static str)> {
    let mut found = Vec::new();
    if cfg!(feature = "ort") {
        found.push((BackendKind::Ort, "onnx"));
    }
    if cfg!(feature = "tract") {
        found.push((BackendKind::Tract, "onnx"));
    }
    if cfg!(feature = "tch") {
        found.push((BackendKind::Tch, "pt"));
    }
    found
}

/// Settings that name the engine.
fn on(kind: BackendKind) -> BackendConfig {
    BackendConfig {
        kind: Some(kind),
        ..BackendConfig::default()
    }
}

fn open(path: &Path, kind: BackendKind) -> NetworkPilot {
    NetworkPilot::open(path, &on(kind))
        .unwrap_or_else(|e| panic!("cannot open {} on {kind:?}: {e}", path.display()))
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
        let backend = backend::open(&model, &on(kind)).unwrap();
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

/// Rendered frames along a lap: every compiled engine gives the first one's raw outputs within
/// 1e-4.
#[test]
fn engines_agree_on_rendered_frames() {
    use pilotnet_brain::base::camera::CameraConfig;
    use pilotnet_brain::evaluation::circuit::{Circuit, RoadGeometry};
    use pilotnet_brain::sim::render::{Appearance, Renderer};

    let dir = util::testnet();
    let mut engines: Vec<(BackendKind, NetworkPilot)> = compiled_backends()
        .into_iter()
        .map(|(kind, ext)| (kind, open(&dir.join(format!("pilotnet_dls.{ext}")), kind)))
        .collect();
    if engines.len() < 2 {
        eprintln!("one engine compiled in: nothing to compare");
        return;
    }
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
        let (first_kind, first) = &mut engines[0];
        let first_kind = *first_kind;
        let a = first.drive(&frame, None).unwrap();
        let raw_a = first.infer(&frame).unwrap().to_vec();
        for (kind, other) in &mut engines[1..] {
            let b = other.drive(&frame, None).unwrap();
            worst = worst.max((a.v - b.v).abs()).max((a.w - b.w).abs());
            let raw_b = other.infer(&frame).unwrap().to_vec();
            for (x, y) in raw_a.iter().zip(&raw_b) {
                assert!(
                    (x - y).abs() < 1e-4,
                    "frame {i}: {first_kind:?} {raw_a:?}, {kind:?} {raw_b:?}"
                );
            }
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
    for (kind, ext) in compiled_backends() {
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
            let err = match NetworkPilot::open(&path, &on(kind)) {
                Ok(_) => panic!("{} loaded on {kind:?}", path.display()),
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
        let err = NetworkPilot::open(&missing, &on(kind))
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
    for (kind, ext) in compiled_backends() {
        let mut pilot = open(&dir.join(format!("nan.{ext}")), kind);
        let frame = util::load_png(&dir.join("frame.png"));
        let err = pilot.drive(&frame, None).unwrap_err().to_string();
        assert!(err.contains("not finite"), "{err}");
        assert_eq!(pilot.non_finite_outputs(), 1);
    }
}

const BENCH_KEYS: &[&str] = &[
    "model",
    "backend",
    "device",
    "size_mb",
    "preprocess_ms_p50",
    "preprocess_ms_p99",
    "inference_ms_mean",
    "inference_ms_p50",
    "inference_ms_p99",
    "inference_ms_max",
    "mse",
    "w_error_by_turn",
];

fn run_json(args: &[&std::ffi::OsStr]) -> serde_json::Value {
    let out = util::binary().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(&String::from_utf8(out.stdout).unwrap()).unwrap()
}

#[test]
fn bench_prints_every_key_and_the_dataset_mse_and_turn_errors() {
    let dir = util::testnet();
    let model = dir.join("pilotnet_dls.onnx");
    let v = run_json(&[
        "bench".as_ref(),
        "--model".as_ref(),
        model.as_os_str(),
        "--frames".as_ref(),
        "50".as_ref(),
        "--json".as_ref(),
    ]);
    for k in BENCH_KEYS {
        assert!(v.get(k).is_some(), "missing key {k} in {v}");
    }
    assert_eq!(v["backend"], "ort");
    assert_eq!(v["device"], "cpu");
    assert!(v["mse"].is_null());
    assert!((v["size_mb"].as_f64().unwrap() - 6.385).abs() < 0.01);
    let p50 = v["inference_ms_p50"].as_f64().unwrap();
    assert!(p50 > 0.0 && p50 <= v["inference_ms_p99"].as_f64().unwrap());

    // Two samples of the golden 200x66 input: one labelled with PyTorch's own output, one
    // off by (+0.1, -0.2) in normalised units. MSE: v (0 + 0.01) / 2, w (0 + 0.04) / 2.
    let expected: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let r: Vec<f64> = expected["raw_outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    let data = tempfile::tempdir().unwrap();
    std::fs::copy(dir.join("frame_opencv.png"), data.path().join("a.png")).unwrap();
    let label = |p: f64, q: f64| (p * 17.5 + 6.5, q * 14.2 - 7.1);
    let (v0, w0) = label(r[0], r[1]);
    let (v1, w1) = label(r[0] + 0.1, r[1] - 0.2);
    std::fs::write(
        data.path().join("labels.csv"),
        format!("image,v,w,circuit\na.png,{v0},{w0},x\na.png,{v1},{w1},x\n"),
    )
    .unwrap();
    for ext in ["onnx", "pt"] {
        if ext == "pt" && !cfg!(feature = "tch") {
            continue;
        }
        let model = dir.join(format!("pilotnet_dls.{ext}"));
        let v = run_json(&[
            "bench".as_ref(),
            "--model".as_ref(),
            model.as_os_str(),
            "--frames".as_ref(),
            "20".as_ref(),
            "--dataset".as_ref(),
            data.path().as_os_str(),
            "--json".as_ref(),
        ]);
        assert_eq!(v["dataset_samples"], 2);
        let close = |k: &str, want: f64| {
            let got = v[k].as_f64().unwrap();
            assert!(
                (got - want).abs() < 1e-6,
                "{ext} {k} {got}, expected {want}"
            );
        };
        close("mse_v", 0.005);
        close("mse_w", 0.02);
        close("mse", 0.0125);
        // By the labels' |w|: the first sample answered exactly, the second off by its
        // difference from the first (the label brought to the network's ±7.1 rad/s first).
        let bands = v["w_error_by_turn"].as_array().unwrap();
        let band_of = |w: f64| {
            bands
                .iter()
                .position(|b| {
                    w.abs() >= b["abs_w_from"].as_f64().unwrap()
                        && b["abs_w_to"].as_f64().is_none_or(|t| w.abs() < t)
                })
                .unwrap()
        };
        let error1 = (w0 - w1.clamp(-7.1, 7.1)).abs();
        let median = |k: usize| bands[k]["median_abs_error_rad_s"].as_f64().unwrap();
        if band_of(w0) == band_of(w1) {
            assert_eq!(bands[band_of(w0)]["samples"], 2);
            assert!(
                (median(band_of(w0)) - error1 / 2.0).abs() < 1e-4,
                "{ext} {bands:?}"
            );
        } else {
            assert!(median(band_of(w0)).abs() < 1e-4, "{ext} {bands:?}");
            assert!(
                (median(band_of(w1)) - error1).abs() < 1e-4,
                "{ext} {bands:?}"
            );
        }
    }
}

#[test]
fn sim_drives_with_a_model_and_reports_inference_time() {
    let dir = util::testnet();
    let model = dir.join("pilotnet_dls.onnx");
    let v = run_json(&[
        "sim".as_ref(),
        "--model".as_ref(),
        model.as_os_str(),
        "--timeout".as_ref(),
        "3".as_ref(),
        "--json".as_ref(),
    ]);
    assert_eq!(v["pilot"], "pilotnet_dls.onnx");
    assert_eq!(
        (&v["backend"], &v["device"]),
        (&"ort".into(), &"cpu".into())
    );
    // 3 s at 20 Hz, every frame answered (the test network does not drive: it may stop early).
    assert!(v["frames_received"].as_u64().unwrap() >= 59);
    assert!(v["inference_ms_p50"].as_f64().unwrap() > 0.0);
    assert!(v["preprocess_ms_p50"].as_f64().unwrap() > 0.0);
    assert_eq!(v["pilot_errors"], 0);
}

/// A fresh machine: no ONNX Runtime library anywhere it is looked for. `sim` with no model
/// drives the shipped fp32 network on tract, and the record says so.
#[cfg(feature = "tract")]
#[test]
fn sim_without_onnx_runtime_drives_the_shipped_network_on_tract() {
    let v = util::json_record(
        util::binary()
            .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")
            .args(["sim", "--timeout", "8", "--json"]),
    );
    assert_eq!(v["pilot"], "pilotnet_fp32.onnx");
    assert_eq!(
        (&v["backend"], &v["device"]),
        (&"tract".into(), &"cpu".into())
    );
    assert_eq!(v["pilot_errors"], 0);
    // 8 s of the shipped network driving: it stays on the road and keeps going.
    assert!(v["completed_distance_m"].as_f64().unwrap() > 60.0, "{v}");
    assert!(v["position_deviation_mae_m"].as_f64().unwrap() < 0.1, "{v}");
}

#[test]
fn nan_network_in_the_loop_stops_the_car_and_counts() {
    let dir = util::testnet();
    let model = dir.join("nan.onnx");
    let v = run_json(&[
        "sim".as_ref(),
        "--model".as_ref(),
        model.as_os_str(),
        "--timeout".as_ref(),
        "3".as_ref(),
        "--json".as_ref(),
    ]);
    let frames = v["frames_processed"].as_u64().unwrap();
    assert_eq!(v["non_finite_commands"].as_u64().unwrap(), frames);
    assert!(v["completed_distance_m"].as_f64().unwrap() < 0.01);
    assert_eq!(v["lap_completed"], false);
}

#[test]
fn cli_errors_for_bad_model_arguments() {
    let dir = util::testnet();
    let cases: Vec<(Vec<std::ffi::OsString>, &str)> = vec![
        (
            vec!["sim".into(), "--model".into(), "nowhere.onnx".into()],
            "nowhere.onnx",
        ),
        (
            vec![
                "bench".into(),
                "--model".into(),
                dir.join("pilotnet_dls.onnx").into(),
                "--device".into(),
                "npu".into(),
            ],
            "unknown device 'npu'",
        ),
        (
            vec![
                "bench".into(),
                "--model".into(),
                dir.join("pilotnet_dls.pt").into(),
                "--device".into(),
                "tensorrt".into(),
            ],
            if cfg!(feature = "tch") {
                "does not support device 'tensorrt'"
            } else {
                "not compiled into this binary"
            },
        ),
        (
            // This machine's ONNX Runtime is the CPU build: asking for a GPU is an error, never
            // a silent fall-back to the CPU.
            vec![
                "bench".into(),
                "--model".into(),
                dir.join("pilotnet_dls.onnx").into(),
                "--device".into(),
                "cuda".into(),
            ],
            "ONNX Runtime cannot use device 'cuda'",
        ),
        (
            vec![
                "bench".into(),
                "--model".into(),
                dir.join("pilotnet_dls.onnx").into(),
                "--trt-precision".into(),
                "fp16".into(),
            ],
            "--trt-precision: TensorRT settings need device tensorrt",
        ),
    ];
    for (args, expected) in cases {
        let out = util::binary().args(&args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains(expected),
            "{args:?}: {err:?} lacks {expected:?}"
        );
    }
    // A missing or broken ONNX Runtime library, when ort is asked for, names the path and
    // the fix.
    let model = dir.join("pilotnet_dls.onnx");
    for (library, expected) in [
        (
            "/nonexistent/libonnxruntime.so",
            "ONNX Runtime library not found",
        ),
        (
            "/etc/hostname",
            "cannot load ONNX Runtime from /etc/hostname",
        ),
    ] {
        let out = util::binary()
            .args(["bench".as_ref(), "--model".as_ref(), model.as_os_str()])
            .args(["--backend", "ort"])
            .env("ORT_DYLIB_PATH", library)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{library}: {err}");
        assert!(err.contains(expected), "{err:?} lacks {expected:?}");
    }
}

#[test]
fn bad_frames_are_errors_through_the_pilot() {
    use pilotnet_brain::base::raw_image::WireEncoding;
    let dir = util::testnet();
    let mut pilot = open(&dir.join("pilotnet_dls.onnx"), compiled_backends()[0].0);
    let good = util::load_png(&dir.join("frame.png"));
    let mut truncated = good.clone();
    truncated.data.truncate(640 * 3 * 100);
    let err = pilot.drive(&truncated, None).unwrap_err().to_string();
    assert!(err.contains("truncated") && err.contains("921600"), "{err}");
    let mut small = good.clone();
    (small.width, small.height, small.step) = (320, 240, 960);
    let err = pilot.drive(&small, None).unwrap_err().to_string();
    assert!(err.contains("320x240, expected 640x480"), "{err}");
    let err = WireEncoding::parse("nv12").unwrap_err().to_string();
    assert!(
        err.contains("'nv12' is not supported") && err.contains("rgb8"),
        "{err}"
    );
    // A good frame still works after the bad ones.
    assert!(pilot.drive(&good, None).is_ok());
}
