//! Fuzzing of every parser and decoder of outside input — camera messages (raw and
//! compressed), circuit files, model descriptions, the models catalogue, ROS 2 params files,
//! experiment files, datasets, Gazebo models, bags and model files — with proptest, a
//! maintained property-testing tool that runs on stable Rust. Each target feeds its reader
//! inputs made by mutating valid seeds (made by the project's own code or read from
//! `../shared`) and random bytes; the reader must return a value that keeps its invariants or
//! an error that says what is wrong, and never panic.
//!
//! `cargo test --test fuzz` is a short pass over every target; `FUZZ_SECONDS=N` runs each for
//! N seconds, and `scripts/fuzz.sh` records such a run in `docs/fuzzing.md`.

mod bags;
mod datasets;
mod harness;
mod images;
mod models;
mod mutate;
mod texts;
#[path = "../util/mod.rs"]
mod util;
mod worlds;
