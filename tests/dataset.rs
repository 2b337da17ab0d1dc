//! Dataset collection: what is written, that it reads back, and that a seed reproduces it.

mod util;

use pilotnet_brain::sim::looks::LookRange;
use pilotnet_brain::tools::dataset::{self, collect, AppearanceRange, CollectConfig};

fn config(out: &std::path::Path, seed: u64) -> CollectConfig {
    CollectConfig {
        circuits: vec!["lakeside".into(), "switchback".into()],
        frames: 90,
        out: out.to_path_buf(),
        seed,
        full_frame_every: 40,
        ..CollectConfig::default()
    }
}

#[test]
fn collects_frames_labels_and_a_manifest_reproducibly() {
    let a = tempfile::tempdir().unwrap();
    let summary = collect(&config(a.path(), 7)).unwrap();
    assert_eq!(summary.frames, 90);
    let samples = dataset::read_labels(a.path()).unwrap();
    assert_eq!(samples.len(), 90);
    let first = dataset::read_image(&samples[0].image).unwrap();
    assert_eq!((first.width, first.height), (200, 66));
    assert!(samples.iter().all(|s| s.v > 0.0 && s.w.abs() < 7.2));
    let text = std::fs::read_to_string(a.path().join("labels.csv")).unwrap();
    assert!(
        text.starts_with("image,v,w,circuit,direction,run,t,x,y,yaw,lateral_m,perturbed,look\n")
    );
    // Both circuits, both directions, in equal shares (90 / 4 = 23, 23, 22, 22).
    for (name, dir, n) in [
        ("lakeside", "forward", 23),
        ("lakeside", "reverse", 23),
        ("switchback", "forward", 22),
        ("switchback", "reverse", 22),
    ] {
        let tag = format!(",{name},{dir},");
        assert_eq!(text.matches(&tag).count(), n, "{tag}");
    }
    let full: Vec<_> = std::fs::read_dir(a.path().join("full")).unwrap().collect();
    assert_eq!(full.len(), 3, "frames 0, 40 and 80 kept whole");
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(a.path().join("collect.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["summary"]["frames"], 90);
    assert_eq!(manifest["seed"], 7);

    // The same seed writes the same labels and pixels; another seed does not.
    let b = tempfile::tempdir().unwrap();
    collect(&config(b.path(), 7)).unwrap();
    assert_eq!(
        text,
        std::fs::read_to_string(b.path().join("labels.csv")).unwrap()
    );
    let image = "images/0000050.png";
    assert_eq!(
        std::fs::read(a.path().join(image)).unwrap(),
        std::fs::read(b.path().join(image)).unwrap()
    );
    let c = tempfile::tempdir().unwrap();
    collect(&config(c.path(), 8)).unwrap();
    assert_ne!(
        std::fs::read(a.path().join(image)).unwrap(),
        std::fs::read(c.path().join(image)).unwrap()
    );
}

#[test]
fn disturbances_push_the_car_off_the_line_and_labels_steer_back() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = CollectConfig {
        circuits: vec!["lakeside".into()],
        both_directions: false,
        frames: 1200,
        appearance: AppearanceRange::none(),
        full_frame_every: 0,
        perturbation: dataset::Perturbation {
            rate_hz: 0.5,
            ..Default::default()
        },
        ..config(dir.path(), 3)
    };
    let summary = collect(&cfg).unwrap();
    assert!(summary.perturbed_frames > 100, "{summary:?}");
    assert!(summary.max_abs_lateral_m > 0.3, "{summary:?}");
    // Where the car is well left of the line (lateral > 0.25 m) the expert's label turns it
    // right (negative yaw rate relative to the curve), and vice versa: on the gentle
    // lakeside the sign of w follows the offset.
    let mut reader = csv::Reader::from_path(dir.path().join("labels.csv")).unwrap();
    let (mut agree, mut total) = (0, 0);
    for r in reader.records() {
        let r = r.unwrap();
        let lateral: f64 = r[10].parse().unwrap();
        let w: f64 = r[2].parse().unwrap();
        if lateral.abs() > 0.25 {
            total += 1;
            agree += usize::from(w * lateral < 0.0);
        }
    }
    assert!(total > 20 && agree * 10 >= total * 8, "{agree} of {total}");
}

#[test]
fn looks_are_drawn_recorded_and_reproducible() {
    let cfg = |out: &std::path::Path, seed| CollectConfig {
        circuits: vec!["lakeside".into()],
        both_directions: false,
        frames: 120,
        looks: Some(LookRange::gazebo()),
        look_every_s: 1.0,
        full_frame_every: 0,
        ..config(out, seed)
    };
    let a = tempfile::tempdir().unwrap();
    collect(&cfg(a.path(), 5)).unwrap();
    // A look every 20 frames (1 s at 20 Hz): six, each a row of looks.csv that the labels'
    // look column names.
    let mut looks = csv::Reader::from_path(a.path().join("looks.csv")).unwrap();
    let rows: Vec<csv::StringRecord> = looks.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 6);
    let header = looks.headers().unwrap().clone();
    let col = |name: &str| header.iter().position(|h| h == name).unwrap();
    for r in &rows {
        let height: f64 = r[col("camera_height")].parse().unwrap();
        assert!((0.10..=0.144).contains(&height), "{r:?}");
        assert_eq!(&r[col("circuit")], "lakeside");
    }
    let mut labels = csv::Reader::from_path(a.path().join("labels.csv")).unwrap();
    let used: std::collections::BTreeSet<usize> = labels
        .records()
        .map(|r| r.unwrap()[12].parse().unwrap())
        .collect();
    assert_eq!(used, (0..6).collect());
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(a.path().join("collect.json")).unwrap())
            .unwrap();
    assert_eq!(manifest["looks_drawn"], 6);
    assert_eq!(manifest["looks"]["camera_height"][1], 0.144);
    // The same seed draws the same looks and pixels.
    let b = tempfile::tempdir().unwrap();
    collect(&cfg(b.path(), 5)).unwrap();
    for file in ["looks.csv", "labels.csv", "images/0000100.png"] {
        assert_eq!(
            std::fs::read(a.path().join(file)).unwrap(),
            std::fs::read(b.path().join(file)).unwrap(),
            "{file}"
        );
    }
    // The classic look has no scene to restyle.
    let err = collect(&CollectConfig {
        look: pilotnet_brain::sim::Look::Classic,
        ..cfg(b.path(), 5)
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("looks"), "{err}");
}

#[test]
fn bad_collection_settings_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let err = collect(&CollectConfig {
        circuits: vec!["nowhere.csv".into()],
        ..config(dir.path(), 0)
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("nowhere.csv"), "{err}");
    let err = collect(&CollectConfig {
        frames: 0,
        ..config(dir.path(), 0)
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("frames"), "{err}");
}

/// The bench's MSE over `dir` with the test network.
fn bench_mse(dir: &std::path::Path) -> Result<f64, String> {
    let out = util::binary()
        .arg("bench")
        .arg("--model")
        .arg(util::testnet().join("pilotnet_dls.onnx"))
        .args(["--frames", "5", "--warmup", "1", "--json", "--dataset"])
        .arg(dir)
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    Ok(v["mse"].as_f64().unwrap())
}

/// DeepLearningStudio's layout: the collector's whole frames renamed `N.png` with their labels
/// in `data.csv` score the same as the collector's own cut frames, and a broken folder is an
/// error naming the file and the fault.
#[test]
fn deeplearningstudio_layout_scores_like_the_projects_own() {
    let ours = tempfile::tempdir().unwrap();
    collect(&CollectConfig {
        frames: 24,
        full_frame_every: 1,
        ..config(ours.path(), 3)
    })
    .unwrap();
    let samples = dataset::read_labels(ours.path()).unwrap();
    let dls = tempfile::tempdir().unwrap();
    let mut csv = String::from("v,w\n");
    for (i, s) in samples.iter().enumerate() {
        let whole = ours.path().join("full").join(s.image.file_name().unwrap());
        std::fs::copy(&whole, dls.path().join(format!("{i}.png"))).unwrap();
        csv.push_str(&format!("{},{}\n", s.v, s.w));
    }
    std::fs::write(dls.path().join("data.csv"), &csv).unwrap();
    let read = dataset::read_samples(dls.path()).unwrap();
    assert_eq!(read.len(), 24);
    assert_eq!((read[5].v, read[5].w), (samples[5].v, samples[5].w));
    let (a, b) = (
        bench_mse(ours.path()).unwrap(),
        bench_mse(dls.path()).unwrap(),
    );
    eprintln!("MSE on cut frames {a}, on whole frames {b}");
    // The same preprocessing cut the stored frames and cuts the whole ones.
    assert!((a - b).abs() <= 1e-9 * a, "{a} vs {b}");

    std::fs::write(dls.path().join("7.png"), b"not a png").unwrap();
    let err = bench_mse(dls.path()).unwrap_err();
    assert!(err.contains("7.png"), "{err}");
    std::fs::remove_file(dls.path().join("7.png")).unwrap();
    let err = bench_mse(dls.path()).unwrap_err();
    assert!(
        err.contains("data.csv line 9") && err.contains("no image 7.png"),
        "{err}"
    );
    std::fs::write(dls.path().join("data.csv"), "v,w\n").unwrap();
    let err = bench_mse(dls.path()).unwrap_err();
    assert!(
        err.contains("data.csv") && err.contains("no samples"),
        "{err}"
    );
}

#[test]
fn a_network_drives_while_the_expert_labels() {
    let model = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("models/pilotnet_fp32.onnx");
    let cfg = |out: &std::path::Path, driver: Option<&std::path::Path>| CollectConfig {
        circuits: vec!["lakeside".into()],
        both_directions: false,
        frames: 160,
        looks: Some(LookRange::gazebo()),
        full_frame_every: 0,
        perturbation: dataset::Perturbation {
            rate_hz: 0.0,
            ..Default::default()
        },
        driver: driver.map(|model| dataset::DriverSetup {
            model: model.to_path_buf(),
            backend: pilotnet_brain::inference::backend::BackendConfig {
                kind: Some(pilotnet_brain::inference::backend::BackendKind::Tract),
                ..Default::default()
            },
        }),
        ..config(out, 11)
    };
    let by_expert = tempfile::tempdir().unwrap();
    collect(&cfg(by_expert.path(), None)).unwrap();
    let by_network = tempfile::tempdir().unwrap();
    let summary = collect(&cfg(by_network.path(), Some(&model))).unwrap();
    assert_eq!(summary.frames, 160);
    let rows = |dir: &std::path::Path| -> Vec<csv::StringRecord> {
        let mut r = csv::Reader::from_path(dir.join("labels.csv")).unwrap();
        r.records().map(|r| r.unwrap()).collect()
    };
    let (e, n) = (rows(by_expert.path()), rows(by_network.path()));
    // The same start, the same look: the first frame is the same picture, and its label is the
    // expert's answer to it either way.
    assert_eq!((&e[0][1], &e[0][2]), (&n[0][1], &n[0][2]));
    assert_eq!(
        std::fs::read(by_expert.path().join("images/0000000.png")).unwrap(),
        std::fs::read(by_network.path().join("images/0000000.png")).unwrap()
    );
    // After that the network's own steering takes the car elsewhere.
    let lateral = |r: &csv::StringRecord| r[10].parse::<f64>().unwrap();
    let apart = e
        .iter()
        .zip(&n)
        .skip(40)
        .filter(|(a, b)| (lateral(a) - lateral(b)).abs() > 0.005)
        .count();
    assert!(apart > 60, "{apart} of 120 frames at another offset");
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(by_network.path().join("collect.json")).unwrap(),
    )
    .unwrap();
    assert!(manifest["driver"]
        .as_str()
        .unwrap()
        .ends_with("pilotnet_fp32.onnx"));
    // A driver that cannot be opened is named.
    let missing = by_network.path().join("no_such_model.onnx");
    let err = collect(&cfg(by_network.path(), Some(&missing)))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("driving network") && err.contains("no_such_model.onnx"),
        "{err}"
    );
}
