//! pilotnet_brain: an autonomous-driving brain that runs a PilotNet-style network (camera image
//! → linear and angular velocity) and measures how well it drives, in the style of JdeRobot's
//! Behavior Metrics.
//!
//! The library is built in layers, each folder one layer, and a module imports only from the
//! layers below it (`tests/layers.rs` enforces it):
//!
//! 1. [`base`]: geometry, sensor data, commands and their limits, the camera model, timing,
//!    clocks and setting errors — what every other layer speaks.
//! 2. [`inference`]: model descriptions, preprocessing, the inference backends, the model
//!    catalogue.
//! 3. [`driving`]: pilots, the pipeline that makes their commands safe, and the brain loop
//!    (latest frame wins, stall watchdog) on any clock.
//! 4. [`recording`]: rosbag2 bags (MCAP, SQLite3) read without ROS: a run's odometry, clock
//!    and commands.
//! 5. [`evaluation`]: circuits and reference laps, lap statistics, the run record and its
//!    reports, and the scores of a recorded run.
//! 6. [`sim`]: the embedded simulator (world, renderer, vehicle) and the simulated run.
//! 7. [`tools`]: the offline benchmark, dataset recording and experiments.
//! 8. `ros` (cargo feature `ros2`): the ROS 2 nodes, thin adapters over the layers below.
//!
//! Nothing below `ros` knows a ROS type.

#![deny(missing_docs)]

pub mod base;
pub mod driving;
pub mod evaluation;
pub mod inference;
pub mod recording;
#[cfg(feature = "ros2")]
pub mod ros;
pub mod sim;
pub mod tools;
