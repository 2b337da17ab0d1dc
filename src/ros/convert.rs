//! Conversions between ROS 2 messages and the core's ROS-free types: `sensor_msgs/Image` (as
//! rcl's native message) ↔ [`Frame`], `sensor_msgs/CompressedImage` → [`Frame`],
//! `nav_msgs/Odometry` ↔ [`Odometry`], [`Command`] → `geometry_msgs/Twist` or `TwistStamped`,
//! a health [`Report`] → `diagnostic_msgs/DiagnosticArray`.
//! Incoming messages are validated here; a bad image is an error naming what is wrong.

use std::borrow::Cow;

use r2r::builtin_interfaces::msg::Time;
use r2r::diagnostic_msgs::msg::{DiagnosticArray, DiagnosticStatus, KeyValue};
use r2r::geometry_msgs::msg::{Twist, TwistStamped, Vector3};
use r2r::nav_msgs::msg::Odometry as OdometryMsg;
use r2r::sensor_msgs::msg::{CompressedImage, Image};
use r2r::NativeMsg;

use crate::base::control::Command;
use crate::base::geometry::{Pose2, Vec2};
use crate::base::raw_image::{decode_compressed, RawImage, WireEncoding};
use crate::base::sensor::{Frame, FrameError, Odometry};
use crate::driving::health::Report;

/// Seconds of a ROS time stamp.
pub fn seconds(t: &Time) -> f64 {
    t.sec as f64 + t.nanosec as f64 * 1e-9
}

/// A ROS time stamp for `seconds` (≥ 0).
pub fn stamp(seconds: f64) -> Time {
    let s = seconds.max(0.0);
    let sec = s.floor();
    Time {
        sec: sec as i32,
        nanosec: (((s - sec) * 1e9).round() as u32).min(999_999_999),
    }
}

/// The header stamp of an image message as rcl took it (r2r's native message, before any
/// copy into Rust types).
pub fn native_image_stamp(msg: &NativeMsg<Image>) -> Time {
    Time {
        sec: msg.header.stamp.sec,
        nanosec: msg.header.stamp.nanosec,
    }
}

/// An image message as rcl took it, converted into a validated frame in `spare` (a used
/// frame's buffer): its pixel bytes are read where rcl put them and copied (or converted)
/// once, instead of into an owned message first and then into the frame.
pub fn frame_from_native_image(
    msg: &NativeMsg<Image>,
    seq: u64,
    spare: &mut Vec<u8>,
) -> Result<Frame, FrameError> {
    let data: &[u8] = if msg.data.data.is_null() || msg.data.size == 0 {
        &[]
    } else {
        // SAFETY: rosidl's uint8 sequence owns `size` initialised bytes at `data`, alive as
        // long as the message, which this borrow cannot outlive.
        unsafe { std::slice::from_raw_parts(msg.data.data, msg.data.size) }
    };
    let encoding = if msg.encoding.data.is_null() {
        ""
    } else {
        msg.encoding.to_str()
    };
    RawImage {
        stamp: seconds(&native_image_stamp(msg)),
        seq,
        width: msg.width,
        height: msg.height,
        encoding: WireEncoding::parse(encoding)?,
        step: msg.step,
        big_endian: msg.is_bigendian != 0,
        data: Cow::Borrowed(data),
    }
    .into_frame(spare)
}

/// A compressed image message (JPEG or PNG) decoded into an `rgb8` frame, a JPEG into
/// `spare` (a used frame's buffer).
pub fn frame_from_compressed(
    msg: CompressedImage,
    seq: u64,
    spare: &mut Vec<u8>,
) -> Result<Frame, FrameError> {
    decode_compressed(
        seconds(&msg.header.stamp),
        seq,
        &msg.format,
        &msg.data,
        spare,
    )
}

/// A frame as an image message.
pub fn image_from_frame(frame: &Frame, frame_id: &str) -> Image {
    let mut msg = Image::default();
    msg.header.stamp = stamp(frame.stamp);
    msg.header.frame_id = frame_id.to_string();
    msg.width = frame.width;
    msg.height = frame.height;
    msg.encoding = frame.encoding.as_str().to_string();
    msg.step = frame.step;
    msg.data = frame.data.clone();
    msg
}

/// Planar odometry from an odometry message (yaw from the orientation quaternion).
pub fn odometry_from_msg(msg: &OdometryMsg) -> Odometry {
    let p = &msg.pose.pose.position;
    let q = &msg.pose.pose.orientation;
    let yaw = (2.0 * (q.w * q.z + q.x * q.y)).atan2(1.0 - 2.0 * (q.y * q.y + q.z * q.z));
    Odometry {
        stamp: seconds(&msg.header.stamp),
        pose: Pose2 {
            p: Vec2::new(p.x, p.y),
            yaw,
        },
        v: msg.twist.twist.linear.x,
        w: msg.twist.twist.angular.z,
    }
}

/// An odometry message for planar odometry.
pub fn msg_from_odometry(odom: &Odometry, frame_id: &str, child_frame_id: &str) -> OdometryMsg {
    let mut msg = OdometryMsg::default();
    msg.header.stamp = stamp(odom.stamp);
    msg.header.frame_id = frame_id.to_string();
    msg.child_frame_id = child_frame_id.to_string();
    msg.pose.pose.position.x = odom.pose.p.x;
    msg.pose.pose.position.y = odom.pose.p.y;
    let (s, c) = (odom.pose.yaw / 2.0).sin_cos();
    msg.pose.pose.orientation.z = s;
    msg.pose.pose.orientation.w = c;
    msg.twist.twist.linear.x = odom.v;
    msg.twist.twist.angular.z = odom.w;
    msg
}

/// A command as a Twist (linear.x = v, angular.z = w).
pub fn twist(cmd: Command) -> Twist {
    Twist {
        linear: Vector3 {
            x: cmd.v,
            ..Default::default()
        },
        angular: Vector3 {
            z: cmd.w,
            ..Default::default()
        },
    }
}

/// A command as a stamped Twist: `stamp` (the camera frame's, seconds) and `frame_id`.
pub fn twist_stamped(cmd: Command, stamp_s: f64, frame_id: &str) -> TwistStamped {
    let mut msg = TwistStamped::default();
    msg.header.stamp = stamp(stamp_s);
    msg.header.frame_id = frame_id.to_string();
    msg.twist = twist(cmd);
    msg
}

/// A health report as diagnostic_updater writes one: a single status named
/// `<node>: <task>`, stamped `now`, its figures as key/value pairs.
pub fn diagnostics(report: &Report, name: &str, hardware_id: &str, now: Time) -> DiagnosticArray {
    let mut msg = DiagnosticArray::default();
    msg.header.stamp = now;
    msg.status.push(DiagnosticStatus {
        level: report.level.as_byte(),
        name: name.to_string(),
        message: report.message.clone(),
        hardware_id: hardware_id.to_string(),
        values: report
            .values
            .iter()
            .map(|(key, value)| KeyValue {
                key: key.clone(),
                value: value.clone(),
            })
            .collect(),
    });
    msg
}

/// The command a Twist carries.
pub fn command(msg: &Twist) -> Command {
    Command::new(msg.linear.x, msg.angular.z)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::base::sensor::Encoding;

    /// An image message as the brain node gets it: rcl's native message.
    fn frame_from_image(msg: Image, seq: u64) -> Result<Frame, FrameError> {
        frame_from_native_image(&NativeMsg::<Image>::from(&msg), seq, &mut Vec::new())
    }

    #[test]
    fn stamps_round_trip() {
        for s in [0.0, 1.5, 1_234.000_000_001, 59.999_999_999_5] {
            assert!((seconds(&stamp(s)) - s).abs() < 1e-9, "{s}");
        }
    }

    #[test]
    fn images_round_trip_and_bad_ones_are_named() {
        let mut f = Frame::new_rgb8(4, 2);
        f.data[5] = 9;
        f.stamp = 3.25;
        let back = frame_from_image(image_from_frame(&f, "camera"), 7).unwrap();
        assert_eq!(
            (back.width, back.height, back.step, back.stamp),
            (4, 2, 12, 3.25)
        );
        assert_eq!(back.data, f.data);
        let mut bad = image_from_frame(&f, "camera");
        bad.encoding = "nv12".into();
        assert!(frame_from_image(bad, 1)
            .unwrap_err()
            .to_string()
            .contains("nv12"));
        // A camera's 4:2:2 image arrives as RGB: 4x2 pixels of mid grey.
        let mut yuv = image_from_frame(&f, "camera");
        (yuv.encoding, yuv.step) = ("yuv422_yuy2".into(), 8);
        yuv.data = [126, 128].repeat(8);
        let rgb = frame_from_image(yuv, 2).unwrap();
        assert_eq!((rgb.encoding, rgb.step), (Encoding::Rgb8, 12));
        assert!(rgb.data.iter().all(|&v| v.abs_diff(128) <= 1));
        let mut short = image_from_frame(&f, "camera");
        short.data.truncate(10);
        assert!(frame_from_image(short, 1).is_err());
        // As rcl hands it over: the same frame, its bytes copied into the spare buffer.
        let native = NativeMsg::<Image>::from(&image_from_frame(&f, "camera"));
        let mut spare = Vec::with_capacity(64);
        let at = spare.as_ptr();
        let back = frame_from_native_image(&native, 9, &mut spare).unwrap();
        assert_eq!(
            (back.data.as_slice(), back.data.as_ptr()),
            (f.data.as_slice(), at)
        );
        assert_eq!(
            (back.seq, back.stamp, native_image_stamp(&native).sec),
            (9, 3.25, 3)
        );
        let mut nameless = image_from_frame(&f, "camera");
        nameless.encoding.clear();
        let native = NativeMsg::<Image>::from(&nameless);
        assert!(frame_from_native_image(&native, 1, &mut Vec::new()).is_err());
    }

    #[test]
    fn odometry_round_trips() {
        let o = Odometry {
            stamp: 2.5,
            pose: Pose2 {
                p: Vec2::new(1.0, -2.0),
                yaw: 2.9,
            },
            v: 4.0,
            w: -0.5,
        };
        let back = odometry_from_msg(&msg_from_odometry(&o, "odom", "base_link"));
        assert!((back.pose.yaw - 2.9).abs() < 1e-12);
        assert_eq!(
            (back.pose.p, back.v, back.w, back.stamp),
            (o.pose.p, 4.0, -0.5, 2.5)
        );
    }
}
