//! The embedded circuit simulator: the world (vehicle, camera renderer, odometry, one schedule
//! in simulated time) and the simulated run that drives it with the brain.
//!
//! It stands in for Gazebo so that a lap can be driven and measured on any machine — no ROS,
//! no GPU — through exactly the brain and pipeline the ROS node runs.

mod field;
pub mod gazebo;
pub mod looks;
pub mod procedural;
pub mod raster;
pub mod render;
mod runner;
pub mod scene;
pub mod track;
pub mod vehicle;
pub mod world;

pub use runner::{run, SimConfig, SimError, SimRun};
pub use track::{Look, Scenery, Spawn, Track, TrackError};
