//! Topic names both nodes default to: those of Behavior Metrics' F1 car in its Gazebo
//! follow-line worlds, so the brain drives it without remapping.

/// Camera images (`sensor_msgs/Image`).
pub const CAMERA: &str = "/F1ROS/cameraL/image_raw";
/// Odometry (`nav_msgs/Odometry`).
pub const ODOMETRY: &str = "/F1ROS/odom";
/// Velocity commands (`geometry_msgs/Twist`).
pub const CMD_VEL: &str = "/F1ROS/cmd_vel";
/// The brain's periodic JSON summary (`std_msgs/String`).
pub const SUMMARY: &str = "/brain/summary";
/// The brain's enable switch (`std_srvs/SetBool` service).
pub const ENABLE: &str = "/brain/enable";
/// Health reports (`diagnostic_msgs/DiagnosticArray`), fixed by ROS's diagnostics tools.
pub const DIAGNOSTICS: &str = "/diagnostics";
/// Simulated time (`rosgraph_msgs/Clock`), fixed by ROS.
pub const CLOCK: &str = "/clock";
