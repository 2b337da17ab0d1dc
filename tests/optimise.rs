//! A user's networks through the factory's one optimising command: a DeepLearningStudio-style
//! PilotNet checkpoint and Behavior Metrics' own DeepestLSTMTinyPilotNet checkpoint, each to
//! every variant of the study that fits it, measured by this binary into the offline and the
//! closed-loop tables, on small datasets in both layouts.

mod util;

use std::ffi::OsStr;
use std::path::Path;

/// A dataset of `frames` expert frames on lakeside in this project's layout, with every frame
/// also kept whole.
fn record(out: &Path, frames: usize, seed: u64) {
    let status = util::binary()
        .args([
            "dataset",
            "--circuits",
            "lakeside",
            "--full-every",
            "1",
            "--frames",
        ])
        .arg(frames.to_string())
        .arg("--seed")
        .arg(seed.to_string())
        .arg("--out")
        .arg(out)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
}

/// The same frames in DeepLearningStudio's layout: whole frames `N.png` and `data.csv`.
fn as_deeplearningstudio(ours: &Path, out: &Path) {
    std::fs::create_dir_all(out).unwrap();
    let samples = pilotnet_brain::tools::dataset::read_labels(ours).unwrap();
    let mut csv = String::from("v,w\n");
    for (i, s) in samples.iter().enumerate() {
        let whole = ours.join("full").join(s.image.file_name().unwrap());
        std::fs::copy(whole, out.join(format!("{i}.png"))).unwrap();
        csv.push_str(&format!("{},{}\n", s.v, s.w));
    }
    std::fs::write(out.join("data.csv"), csv).unwrap();
}

fn optimise(
    arch: &str,
    checkpoint: &Path,
    train: &Path,
    test: &Path,
    out: &Path,
    extra: &[&str],
) -> serde_json::Value {
    let binary = Path::new(env!("CARGO_BIN_EXE_pilotnet-brain"));
    let mut args: Vec<&OsStr> = vec![
        "--arch".as_ref(),
        arch.as_ref(),
        "--model".as_ref(),
        checkpoint.as_os_str(),
        "--train-data".as_ref(),
        train.as_os_str(),
        "--test-data".as_ref(),
        test.as_os_str(),
        "--out".as_ref(),
        out.as_os_str(),
        "--calibration".as_ref(),
        "16".as_ref(),
        "--frames".as_ref(),
        "10".as_ref(),
        "--laps".as_ref(),
        "--lap-timeout".as_ref(),
        "4".as_ref(),
        "--binary".as_ref(),
        binary.as_os_str(),
    ];
    args.extend(extra.iter().map(OsStr::new));
    util::factory("optimise", &args);
    serde_json::from_str(&std::fs::read_to_string(out.join("optimise.json")).unwrap()).unwrap()
}

/// The variants in the offline table and in each closed-loop table of `tables.md`.
fn table_rows(tables: &str) -> Vec<Vec<String>> {
    tables
        .split("### ")
        .skip(1)
        .filter(|t| !t.starts_with("Not made"))
        .map(|t| {
            t.lines()
                .filter(|l| l.contains(" | ") && !l.starts_with("Method") && !l.starts_with("---"))
                .map(|l| l.split(" | ").nth(1).unwrap().trim().to_string())
                .collect()
        })
        .collect()
}

#[test]
fn users_checkpoints_become_every_variant_and_both_tables() {
    let dir = tempfile::tempdir().unwrap();
    let (train, test) = (dir.path().join("train"), dir.path().join("test"));
    record(&train, 48, 1);
    record(&test, 16, 2);
    let (train_dls, test_dls) = (dir.path().join("train_dls"), dir.path().join("test_dls"));
    as_deeplearningstudio(&train, &train_dls);
    as_deeplearningstudio(&test, &test_dls);

    // DeepLearningStudio's PilotNet, as a state_dict checkpoint: every variant of the study.
    let pilotnet = dir.path().join("pilotnet");
    let report = optimise(
        "pilotnet",
        &util::testnet().join("pilotnet_dls.pth"),
        &train,
        &test_dls,
        &pilotnet,
        // Each variant trimmed on one built-in circuit: the gain is given, as a dataset of 48
        // frames is too small to fit it.
        &[
            "--trim",
            "--trim-gain=-2.8",
            "--trim-circuits",
            "lakeside",
            "--trim-rounds",
            "2",
        ],
    );
    assert_eq!(report["not_made"], serde_json::json!({}), "{report}");
    let tables = std::fs::read_to_string(pilotnet.join("tables.md")).unwrap();
    let rows = table_rows(&tables);
    assert_eq!(
        rows.len(),
        3,
        "offline and two closed-loop tables:\n{tables}"
    );
    for name in [
        "fp32",
        "ts_fp32",
        "fp16",
        "dynamic_int8",
        "static_int8",
        "float_fallback",
        "integer_only",
        "local_prune",
        "global_prune",
        "prune_static_int8",
        "cluster",
        "qat",
        "pqat",
        "cqat",
        "pcqat",
        "ts_dynamic_int8",
        "ts_static_int8",
    ] {
        assert!(
            rows[0].contains(&name.to_string()),
            "{name} offline:\n{tables}"
        );
        assert!(
            rows[1].contains(&name.to_string()),
            "{name} in the loop:\n{tables}"
        );
    }
    assert!(rows[1].contains(&"expert".to_string()));
    let figures = &report["variants"];
    assert!(figures["cluster"]["zipped_mb"].as_f64() < figures["fp32"]["zipped_mb"].as_f64());
    let raw = &figures["integer_only"]["mse_without_dequantisation"];
    assert!(raw["int8_codes"].as_f64().unwrap() > 1.0, "{raw}");
    assert!(raw["uint8_codes"].as_f64().unwrap() > 100.0, "{raw}");
    // The catalogue it wrote is one the binary reads.
    let out = util::binary()
        .args(["models", "--dir"])
        .arg(&pilotnet)
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(listed.lines().count(), 18, "{listed}");
    // Each variant's trim is the w offset of its own description; the TorchScript export
    // shares the ONNX fp32's.
    let manifest: serde_yaml::Value =
        serde_yaml::from_str(&std::fs::read_to_string(pilotnet.join("manifest.yaml")).unwrap())
            .unwrap();
    let w_min = manifest["training"]["label_range"]["w_min"]
        .as_f64()
        .unwrap();
    for v in manifest["variants"].as_sequence().unwrap() {
        let trim = v["steering_trim_rad_s"]
            .as_f64()
            .unwrap_or_else(|| panic!("{v:?} has no trim"));
        let rounds = v["steering_trim"]["rounds"].as_sequence().unwrap().len();
        assert!((1..=2).contains(&rounds), "{v:?}");
        let description: serde_yaml::Value = serde_yaml::from_str(
            &std::fs::read_to_string(pilotnet.join(v["description"].as_str().unwrap())).unwrap(),
        )
        .unwrap();
        let offset = description["output"]["w"]["offset"].as_f64().unwrap();
        assert!(
            (offset - (w_min + trim)).abs() < 1e-9,
            "{v:?}: offset {offset}"
        );
    }
    let ts_fp32 = manifest["variants"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|v| v["name"] == "ts_fp32")
        .unwrap();
    assert_eq!(ts_fp32["steering_trim"]["shared_with"], "fp32");

    // Behavior Metrics' DeepestLSTMTinyPilotNet: whole frames in DeepLearningStudio's layout;
    // the variants needing PilotNet's eager-quantisation form are named with the reason.
    let lstm = dir.path().join("lstm");
    let report = optimise(
        "deepest-lstm-tiny-pilotnet",
        &std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/behavior-metrics/models/model_lstm_pilotnet_torch.ckpt"),
        &train_dls,
        &test_dls,
        &lstm,
        &[],
    );
    let not_made = report["not_made"].as_object().unwrap();
    let mut names: Vec<&str> = not_made.keys().map(String::as_str).collect();
    names.sort();
    assert_eq!(
        names,
        ["cqat", "pcqat", "pqat", "qat", "ts_static_int8"],
        "{report}"
    );
    assert!(not_made["qat"]
        .as_str()
        .unwrap()
        .contains("eager-quantisation"));
    let tables = std::fs::read_to_string(lstm.join("tables.md")).unwrap();
    let rows = table_rows(&tables);
    for name in [
        "fp32",
        "static_int8",
        "integer_only",
        "cluster",
        "local_prune",
    ] {
        assert!(rows[0].contains(&name.to_string()), "{name}:\n{tables}");
    }
}
