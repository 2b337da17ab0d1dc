//! The embedded circuit simulator: camera renderer, vehicle model, odometry and the loop that
//! runs them against a [`crate::pipeline::Pipeline`] in simulated time.
//!
//! It stands in for Gazebo so that a lap can be driven and measured on any machine — no ROS,
//! no GPU — through exactly the pipeline the ROS node uses.

pub mod camera;
mod field;
pub mod render;
mod runner;
pub mod vehicle;

pub use runner::{run, Latency, RunOutcome, SimConfig, SimError};
