//! pilotnet_brain: an autonomous-driving brain that runs a PilotNet-style network (camera image
//! → linear and angular velocity) and measures how well it drives, in the style of JdeRobot's
//! Behavior Metrics.
//!
//! The library is free of ROS types: [`circuit`], [`sim`] (the embedded simulator),
//! [`pilot`] (the expert and, later, network pilots), [`control`], [`pipeline`] and
//! [`metrics`]. The ROS 2 node is a thin adapter behind the `ros2` cargo feature.

#![deny(missing_docs)]

pub mod backend;
pub mod bench;
pub mod brain;
pub mod circuit;
pub mod control;
pub mod dataset;
pub mod geometry;
pub mod manifest;
pub mod metrics;
pub mod model;
pub mod pilot;
pub mod pipeline;
pub mod preprocess;
pub mod report;
#[cfg(feature = "ros2")]
pub mod ros;
pub mod sensor;
pub mod sim;
