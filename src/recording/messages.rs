//! The ROS 2 messages a run is scored from, decoded from their CDR serialisation (the
//! `cdr` message encoding of rosbag2) with `cdr-encoding`: `nav_msgs/msg/Odometry`,
//! `rosgraph_msgs/msg/Clock`, `geometry_msgs/msg/Twist` and `TwistStamped`. Field order and
//! types are the messages' definitions; only what the scores need is kept.

use byteorder::{BigEndian, LittleEndian};
use serde::de::DeserializeOwned;
use serde::Deserialize;

/// `builtin_interfaces/msg/Time`.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Time {
    /// Seconds.
    pub sec: i32,
    /// Nanoseconds within the second.
    pub nanosec: u32,
}

impl Time {
    /// Seconds as a float.
    pub fn seconds(self) -> f64 {
        self.sec as f64 + self.nanosec as f64 * 1e-9
    }
}

/// `std_msgs/msg/Header`.
#[derive(Debug, Clone, Deserialize)]
pub struct Header {
    /// Stamp.
    pub stamp: Time,
    /// Frame.
    pub frame_id: String,
}

/// `geometry_msgs/msg/Vector3` (also `Point`).
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Vector3 {
    /// x.
    pub x: f64,
    /// y.
    pub y: f64,
    /// z.
    pub z: f64,
}

/// `geometry_msgs/msg/Quaternion`.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Quaternion {
    /// x.
    pub x: f64,
    /// y.
    pub y: f64,
    /// z.
    pub z: f64,
    /// w.
    pub w: f64,
}

impl Quaternion {
    /// Rotation about z, radians.
    pub fn yaw(self) -> f64 {
        (2.0 * (self.w * self.z + self.x * self.y))
            .atan2(1.0 - 2.0 * (self.y * self.y + self.z * self.z))
    }
}

/// `geometry_msgs/msg/Pose`.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Pose {
    /// Position.
    pub position: Vector3,
    /// Orientation.
    pub orientation: Quaternion,
}

/// A 6×6 covariance: 36 doubles with no length (serde's arrays stop at 32, so two halves).
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Covariance(pub [f64; 18], pub [f64; 18]);

/// `geometry_msgs/msg/PoseWithCovariance`.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct PoseWithCovariance {
    /// Pose.
    pub pose: Pose,
    /// Covariance.
    pub covariance: Covariance,
}

/// `geometry_msgs/msg/Twist`.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Twist {
    /// Linear velocity, m/s.
    pub linear: Vector3,
    /// Angular velocity, rad/s.
    pub angular: Vector3,
}

/// `geometry_msgs/msg/TwistWithCovariance`.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct TwistWithCovariance {
    /// Twist.
    pub twist: Twist,
    /// Covariance.
    pub covariance: Covariance,
}

/// `nav_msgs/msg/Odometry`.
#[derive(Debug, Clone, Deserialize)]
pub struct Odometry {
    /// Header.
    pub header: Header,
    /// Child frame.
    pub child_frame_id: String,
    /// Pose.
    pub pose: PoseWithCovariance,
    /// Twist (in the child frame).
    pub twist: TwistWithCovariance,
}

/// `rosgraph_msgs/msg/Clock`.
#[derive(Debug, Clone, Copy, Deserialize)]
pub struct Clock {
    /// Simulated time.
    pub clock: Time,
}

/// `geometry_msgs/msg/TwistStamped`.
#[derive(Debug, Clone, Deserialize)]
pub struct TwistStamped {
    /// Header.
    pub header: Header,
    /// Twist.
    pub twist: Twist,
}

/// Decodes one CDR-serialised message: the 4-byte encapsulation header (plain CDR, little or
/// big endian), then the message. The error says what is wrong.
pub fn decode<T: DeserializeOwned>(data: &[u8]) -> Result<T, String> {
    if data.len() < 4 {
        return Err(format!(
            "{} bytes, shorter than the CDR encapsulation header",
            data.len()
        ));
    }
    let body = &data[4..];
    let decoded = match (data[0], data[1]) {
        (0, 1) => cdr_encoding::from_bytes::<T, LittleEndian>(body),
        (0, 0) => cdr_encoding::from_bytes::<T, BigEndian>(body),
        (a, b) => {
            return Err(format!(
                "encapsulation {a:#04x}{b:02x} is not plain CDR (0x0000 or 0x0001)"
            ))
        }
    };
    decoded
        .map(|(value, _)| value)
        .map_err(|e| format!("not a valid CDR message of this type: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_a_hand_made_clock_and_refuses_garbage() {
        // Little-endian CDR: header 00 01 00 00, sec = 12, nanosec = 500_000_000.
        let mut data = vec![0, 1, 0, 0];
        data.extend(12i32.to_le_bytes());
        data.extend(500_000_000u32.to_le_bytes());
        let c: Clock = decode(&data).unwrap();
        assert!((c.clock.seconds() - 12.5).abs() < 1e-12);
        assert!(decode::<Clock>(&data[..6]).is_err());
        assert!(decode::<Clock>(&[0, 7, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8])
            .unwrap_err()
            .contains("encapsulation"));
    }

    #[test]
    fn a_string_longer_than_the_message_is_an_error_not_an_allocation() {
        // TwistStamped whose frame_id claims 4 GB.
        let mut data = vec![0, 1, 0, 0];
        data.extend(1i32.to_le_bytes());
        data.extend(0u32.to_le_bytes());
        data.extend(u32::MAX.to_le_bytes());
        assert!(decode::<TwistStamped>(&data).is_err());
    }

    #[test]
    fn yaw_of_a_quaternion_about_z() {
        let a: f64 = 0.7;
        let q = Quaternion {
            x: 0.0,
            y: 0.0,
            z: (a / 2.0).sin(),
            w: (a / 2.0).cos(),
        };
        assert!((q.yaw() - a).abs() < 1e-12);
    }
}
