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

/// The built binary.
pub fn binary() -> std::process::Command {
    std::process::Command::new(env!("CARGO_BIN_EXE_pilotnet-brain"))
}
