//! Behavior Metrics' scores (`position_deviation_bm`, `percentage_completed_bm`) agree with
//! SciPy computing them Behavior Metrics' way (`pilotnet_factory.bm_reference`: SciPy's own
//! `CubicSpline`, `fmin` and `dual_annealing`) to within 1 %, on laps of shipped networks in
//! both directions, against Behavior Metrics' perfect laps and against a world's own line,
//! and on a path offset from its reference by 0.1–0.4 m.

mod util;

use std::ffi::OsStr;
use std::path::Path;

use serde_json::Value;

fn os(s: &str) -> &OsStr {
    OsStr::new(s)
}

/// SciPy's figures for `trajectory` against `reference` (walked backwards if `reverse`).
fn scipy(trajectory: &Path, reference: &Path, reverse: bool) -> Value {
    let mut args = vec![
        os("--trajectory"),
        trajectory.as_os_str(),
        os("--reference"),
        reference.as_os_str(),
    ];
    if reverse {
        args.push(os("--reverse"));
    }
    serde_json::from_str(&util::factory("bm_reference", &args)).unwrap()
}

fn agree(what: &str, ours: &Value, theirs: &Value) {
    for (key, their_key) in [
        ("position_deviation_bm", "position_deviation_mae"),
        ("percentage_completed_bm", "percentage_completed"),
    ] {
        let a = ours[key].as_f64().unwrap();
        let b = theirs[their_key].as_f64().unwrap();
        assert!((a / b - 1.0).abs() < 0.01, "{what}: {key} {a}, SciPy's {b}");
        eprintln!("{what}: {key} {a:.4}, SciPy {b:.4}");
    }
}

/// Drives `model` on the world `world` (optionally against a reference lap), returns the
/// record and the output folder.
fn drive(
    dir: &Path,
    world: &str,
    model: &str,
    reverse: bool,
    reference: Option<&str>,
) -> (Value, std::path::PathBuf) {
    let out_dir = dir.join(format!("{world}_{model}_{reverse}"));
    let mut cmd = util::binary();
    cmd.arg("sim")
        .arg("--world")
        .arg(util::world(world))
        .args(["--model", model, "--json", "--out"])
        .arg(&out_dir);
    if reverse {
        cmd.arg("--reverse");
    }
    if let Some(r) = reference {
        cmd.args(["--reference", r]);
    }
    (util::json_record(&mut cmd), out_dir)
}

#[test]
fn laps_of_shipped_networks_score_as_scipy_scores_them() {
    let dir = tempfile::tempdir().unwrap();
    let perfect = util::reference("simple_circuit");
    for (world, model, reverse, reference) in [
        ("simple_circuit", "fp32", false, Some(perfect.as_str())),
        ("simple_circuit", "fp32", true, Some(perfect.as_str())),
        ("simple_circuit", "static_int8", false, None),
        ("montreal_line", "dynamic_int8", true, None),
    ] {
        let (record, out) = drive(dir.path(), world, model, reverse, reference);
        let what = format!("{model} on {world}, reverse {reverse}, reference {reference:?}");
        assert_eq!(record["laps_completed"], 1, "{what}");
        // Against the perfect lap file walked backwards, or against the points the run
        // wrote, already in its driving order.
        let theirs = match reference {
            Some(r) => scipy(&out.join("trajectory.csv"), Path::new(r), reverse),
            None => scipy(
                &out.join("trajectory.csv"),
                &out.join("reference.csv"),
                false,
            ),
        };
        agree(&what, &record, &theirs);
    }
}

#[test]
fn a_path_offset_from_its_reference_scores_as_scipy_scores_it() {
    // Behavior Metrics' SimpleCircuit perfect lap, the path 0.1–0.4 m to its left (the
    // offset swelling and shrinking every 60 m), a point every 0.5 m, at 20 Hz.
    let dir = tempfile::tempdir().unwrap();
    let reference = util::reference("simple_circuit");
    let text = std::fs::read_to_string(&reference).unwrap();
    let pts: Vec<(f64, f64)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let (x, y) = l.split_once(',').unwrap();
            (x.parse().unwrap(), y.parse().unwrap())
        })
        .collect();
    let mut csv = String::from("t,x,y,yaw,v,w\n");
    let (mut s, mut next, mut k) = (0.0, 0.0, 0);
    for i in 0..pts.len() - 1 {
        let (a, b) = (pts[i], pts[i + 1]);
        let (dx, dy) = (b.0 - a.0, b.1 - a.1);
        let len = dx.hypot(dy);
        if len < 1e-9 {
            continue;
        }
        while next <= s + len {
            let u = (next - s) / len;
            let d = 0.25 + 0.15 * (std::f64::consts::TAU * next / 60.0).sin();
            let (x, y) = (a.0 + u * dx - d * dy / len, a.1 + u * dy + d * dx / len);
            csv += &format!("{},{x},{y},{},10,0\n", k as f64 * 0.05, dy.atan2(dx));
            k += 1;
            next += 0.5;
        }
        s += len;
    }
    let trajectory = dir.path().join("offset.csv");
    std::fs::write(&trajectory, csv).unwrap();
    let bag = dir.path().join("offset.mcap");
    util::factory(
        "bags",
        &[
            os("--trajectory"),
            trajectory.as_os_str(),
            os("--writer"),
            os("mcap"),
            os("--out"),
            bag.as_os_str(),
        ],
    );
    let ours = util::json_record(util::binary().arg("metrics").arg(&bag).args([
        "--reference",
        &reference,
        "--json",
    ]));
    let theirs = scipy(&trajectory, Path::new(&reference), false);
    agree("offset path", &ours, &theirs);
    // The offsets lie between 0.1 and 0.4 m: the score between their 1000^d.
    let bm = ours["position_deviation_bm"].as_f64().unwrap();
    assert!(bm > 1000f64.powf(0.1) && bm < 1000f64.powf(0.4), "bm {bm}");
}
