//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// `../shared/circuits` beside the checkout: Behavior Metrics' reference laps. They are read
/// from there, never copied into the repository.
pub fn reference_circuits() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/circuits");
    assert!(
        dir.join("simple_circuit.csv").exists(),
        "reference circuits not found at {} (the project expects ../shared beside it)",
        dir.display()
    );
    dir
}

/// The path of one reference lap, by name (`simple_circuit`, `montmelo`, …), as a circuit spec
/// the CLI and `Circuit::from_spec` accept.
pub fn reference(name: &str) -> String {
    reference_circuits()
        .join(format!("{name}.csv"))
        .to_string_lossy()
        .into_owned()
}

/// The `model.sdf` of one of Behavior Metrics' Gazebo circuits in `../shared/gazebo-f1`, by
/// its model folder (`simple_circuit`, `montmelo_line`, …). Read from there, never copied.
pub fn world(name: &str) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/gazebo-f1")
        .join(name)
        .join("model.sdf");
    assert!(
        path.exists(),
        "Behavior Metrics' Gazebo model not found at {} (the project expects ../shared beside it)",
        path.display()
    );
    path
}

/// The built binary.
pub fn binary() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_pilotnet-brain"))
}

/// The test network and golden data `scripts/setup.sh` writes with the project's own Python
/// (`pilotnet_factory.testnet`): a seeded DLS PilotNet in ONNX and TorchScript, a NaN network,
/// a test image and OpenCV's and PyTorch's results on it.
pub fn testnet() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("generated/testnet");
    assert!(
        dir.join("pilotnet_dls.onnx").exists() && dir.join("expected.json").exists(),
        "test network not found in {}: run scripts/setup.sh first (it installs the runtimes \
         and exports the test network)",
        dir.display()
    );
    dir
}

/// An 8-bit RGB PNG as an `rgb8` frame.
pub fn load_png(path: &std::path::Path) -> pilotnet_brain::base::sensor::Frame {
    pilotnet_brain::tools::dataset::read_image(path).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs a module of the model factory (`pilotnet_factory.NAME`) in the project's Python
/// environment (`.venv`, made by scripts/setup.sh) with `args`; asserts it succeeded and
/// returns its stdout.
pub fn factory(module: &str, args: &[&std::ffi::OsStr]) -> String {
    let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        python.exists(),
        "the factory's Python environment is not at {}: run scripts/setup.sh first",
        python.display()
    );
    let out = std::process::Command::new(&python)
        .arg("-m")
        .arg(format!("pilotnet_factory.{module}"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pilotnet_factory.{module} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Runs `cmd` (the binary with `--json`), asserts it succeeded, returns its JSON record.
pub fn json_record(cmd: &mut std::process::Command) -> serde_json::Value {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
