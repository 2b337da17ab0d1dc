//! Text files users bring: circuit files (Behavior Metrics' `x,y` laps and odometry CSVs),
//! model descriptions, the models catalogue, ROS 2 params files and experiment files. Each is
//! written to a file and read the way the program reads it, so the UTF-8 check is fuzzed too.

use std::path::{Path, PathBuf};

use pilotnet_brain::base::params_file;
use pilotnet_brain::evaluation::circuit::{Circuit, RoadGeometry};
use pilotnet_brain::inference::manifest::Manifest;
use pilotnet_brain::inference::model::Description;
use pilotnet_brain::tools::experiment::Experiment;

use crate::harness::{error_says_something, run, Bytes};
use crate::mutate;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("seed {}: {e}", path.display()))
}

/// The `.yaml` files directly in `dir`.
fn yamls(dir: &Path) -> Vec<Vec<u8>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files.iter().map(|p| read(p)).collect()
}

#[test]
fn circuit_files() {
    let mut seeds: Vec<Vec<u8>> = ["simple_circuit", "montreal"]
        .iter()
        .map(|n| read(&crate::util::reference_circuits().join(format!("{n}.csv"))))
        .collect();
    // An odometry CSV as Behavior Metrics records one: a 20 m circle driven once and a bit.
    let mut odometry = String::from("time,pose.pose.position.x,pose.pose.position.y\n");
    for i in 0..140 {
        let a = i as f64 * std::f64::consts::TAU / 120.0;
        odometry += &format!("{},{},{}\n", i as f64 * 0.1, 20.0 * a.cos(), 20.0 * a.sin());
    }
    seeds.push(odometry.into_bytes());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lap.csv");
    run(
        "circuit_files",
        256,
        mutate::inputs(seeds, 512),
        |Bytes(data)| {
            std::fs::write(&path, &data).unwrap();
            let result = Circuit::load(
                path.to_str().unwrap(),
                RoadGeometry::behavior_metrics(),
                false,
            );
            error_says_something(&result)?;
            if let Ok(c) = result {
                if !(c.length().is_finite() && c.length() > 0.0) {
                    return Err(format!("a circuit {} m long", c.length()));
                }
                if c.reference_points
                    .iter()
                    .any(|p| !(p.x.is_finite() && p.y.is_finite()))
                {
                    return Err("a circuit with a non-finite point".into());
                }
            }
            Ok(())
        },
    );
}

#[test]
fn model_descriptions() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.yaml");
    let seeds: Vec<Vec<u8>> = yamls(&root().join("models"))
        .into_iter()
        .filter(|y| !y.starts_with(b"# The models catalogue"))
        .collect();
    run(
        "model_descriptions",
        512,
        mutate::inputs(seeds, 256),
        |Bytes(data)| {
            std::fs::write(&path, &data).unwrap();
            error_says_something(&Description::read(&path))
        },
    );
}

#[test]
fn models_catalogue() {
    let dir = tempfile::tempdir().unwrap();
    let seeds = vec![read(&root().join("models/manifest.yaml"))];
    run(
        "models_catalogue",
        256,
        mutate::inputs(seeds, 256),
        |Bytes(data)| {
            std::fs::write(dir.path().join("manifest.yaml"), &data).unwrap();
            let result = Manifest::read(dir.path());
            error_says_something(&result)?;
            if let Ok(m) = result {
                let names: Vec<String> = m.shipped().map(|v| v.name.clone()).collect();
                for name in names {
                    error_says_something(&m.path_of(&name))?;
                    let v = m.variant(&name).map_err(|e| e.to_string())?;
                    error_says_something(&m.verify(v))?;
                }
            }
            Ok(())
        },
    );
}

#[test]
fn ros_params_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("params.yaml");
    let seeds = yamls(&root().join("config"));
    run(
        "ros_params_files",
        512,
        mutate::inputs(seeds, 256),
        |Bytes(data)| {
            std::fs::write(&path, &data).unwrap();
            error_says_something(&params_file::check_file(&path))
        },
    );
}

#[test]
fn experiment_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("experiment.yaml");
    // The study with its paths to ../shared made absolute, as it is read from elsewhere.
    let shared = root().join("../shared");
    let study = String::from_utf8(read(&root().join("experiments/study.yaml")))
        .unwrap()
        .replace("../../shared", shared.to_str().unwrap());
    let small = "name: small\nmodels: [expert, {name: slow, model: fp32, threads: 2}]\n\
                 circuits: [lakeside, {name: loop, circuit: simple_circuit, timeout_s: 30}]\n\
                 directions: [forward, reverse]\nrepetitions: 2\nseed: 3\nlook: classic\n\
                 conditions: [{name: ideal, latency: none}, {name: x20, latency: measured*20},\n\
                 {name: dusk, brightness: 0.6, noise: 6, texture: 10, camera_hz: 15}]\n";
    let seeds = vec![study.into_bytes(), small.as_bytes().to_vec()];
    run(
        "experiment_files",
        256,
        mutate::inputs(seeds, 256),
        |Bytes(data)| {
            std::fs::write(&path, &data).unwrap();
            error_says_something(&Experiment::read(&path))
        },
    );
}
