//! The bottom layer: the vocabulary every other layer speaks — planar geometry, sensor data
//! (ROS-free mirrors of `sensor_msgs/Image` and `nav_msgs/Odometry`, and the camera encodings
//! converted into frames), velocity commands and
//! their limits, the pinhole camera model, step timing, clocks, the error a setting out of
//! range produces, output folders checked before a run, and the ROS 2 params file's format.

pub mod camera;
pub mod clock;
pub mod control;
pub mod geometry;
pub mod out_dir;
pub mod params_file;
pub mod raw_image;
pub mod sensor;
pub mod settings;
pub mod timing;
