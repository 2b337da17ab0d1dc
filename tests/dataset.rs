//! Dataset collection: what is written, that it reads back, and that a seed reproduces it.

mod util;

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
    assert!(text.starts_with("image,v,w,circuit,direction,run,t,x,y,yaw,lateral_m,perturbed\n"));
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
