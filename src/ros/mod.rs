//! The ROS 2 adapter (cargo feature `ros2`, r2r): the brain node and the simulator node.
//!
//! Everything here converts and wires; the driving, safety and statistics live in the core
//! ([`crate::brain`], [`crate::pipeline`], [`crate::metrics`]) and are the same as in the
//! embedded simulator.

pub mod brain_node;
pub mod convert;
pub mod params;
pub mod sim_node;
