//! Reference laps as Behavior Metrics ships them: its ROS 1 perfect-lap bags
//! (`../shared/behavior-metrics/perfect_bags/`) and CSV exports of their odometry give the same
//! laps as the `x,y` CSVs in `../shared/circuits/`; broken bags are errors naming the file.

mod util;

use std::path::{Path, PathBuf};

use pilotnet_brain::evaluation::circuit::{lap_file, Circuit};

fn bag(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/behavior-metrics/perfect_bags")
        .join(format!("lap-{name}.bag"))
}

/// (perfect-lap bag, reference CSV)
const LAPS: [(&str, &str); 4] = [
    ("simple-circuit", "simple_circuit"),
    ("montmelo", "montmelo"),
    ("montreal", "montreal"),
    ("nurburgring", "nurburgring"),
];

#[test]
fn each_perfect_lap_bag_is_its_reference_csv() {
    for (b, c) in LAPS {
        let from_bag = lap_file::read(&bag(b)).unwrap_or_else(|e| panic!("{e}"));
        let from_csv = lap_file::read(Path::new(&util::reference(c))).unwrap();
        let far = from_bag
            .iter()
            .zip(&from_csv)
            .map(|(a, b)| a.dist(*b))
            .fold(0.0, f64::max);
        eprintln!(
            "{b}: bag {} points, csv {} points, farthest pair {far:.4} m",
            from_bag.len(),
            from_csv.len()
        );
        // The CSVs are the bags' x, y to the millimetre, with the few points recorded past
        // the finish that the bag's lap leaves out (measured: 0 to 5).
        assert!(far < 1e-3, "{b}: {far} m");
        assert!(
            from_csv.len() >= from_bag.len() && from_csv.len() <= from_bag.len() + 10,
            "{b}"
        );
    }
}

#[test]
fn behavior_metrics_odometry_csv_exports_are_laps() {
    // As bagpy writes a bag's /F1ROS/odom: a Time column, then the message's fields.
    let lap = lap_file::read(&bag("simple-circuit")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("F1ROS-odom.csv");
    let mut text = String::from(
        "Time,header.seq,header.stamp.secs,header.frame_id,pose.pose.position.x,pose.pose.position.y,pose.pose.position.z\n",
    );
    // One lap and a bit more, as a recording runs on past the start.
    for (i, p) in lap.iter().chain(lap.iter().take(50)).enumerate() {
        text += &format!("{i}.0,{i},{i},odom,{},{},0.0\n", p.x, p.y);
    }
    std::fs::write(&path, text).unwrap();
    let read = lap_file::read(&path).unwrap();
    assert_eq!(read.len(), lap.len());
    assert!(read.iter().zip(&lap).all(|(a, b)| a.dist(*b) < 1e-9));
    // And it drives as a circuit.
    let c = Circuit::load(path.to_str().unwrap(), Default::default(), false).unwrap();
    assert!((c.length() - 429.0).abs() < 2.0, "{}", c.length());
}

#[test]
fn broken_bags_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let full = std::fs::read(bag("simple-circuit")).unwrap();
    let cut = dir.path().join("cut.bag");
    std::fs::write(&cut, &full[..full.len() / 2]).unwrap();
    let junk = dir.path().join("junk.bag");
    std::fs::write(&junk, b"not a bag at all").unwrap();
    // Whole, but with a stretch of its chunks overwritten.
    let mut damaged = full.clone();
    let mid = damaged.len() / 3;
    damaged[mid..mid + 4096].fill(0xAB);
    let scrambled = dir.path().join("scrambled.bag");
    std::fs::write(&scrambled, &damaged).unwrap();
    for (path, what) in [
        (&cut, "cut.bag: truncated"),
        (&junk, "junk.bag: not a ROS 1 bag"),
        (&scrambled, "damaged"),
    ] {
        let e = lap_file::read(path).expect_err("a broken bag").to_string();
        eprintln!("{e}");
        let name = path.file_name().unwrap().to_str().unwrap();
        assert!(e.contains(name) && e.contains(what), "{e}");
    }
    let out = util::binary()
        .args(["sim", "--circuit", junk.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("junk.bag") && !err.contains("panicked"),
        "{err}"
    );
}
