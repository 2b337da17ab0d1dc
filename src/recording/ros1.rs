//! ROS 1 bags (format 2.0), as `rosbag record` writes them and Behavior Metrics' ROS Noetic
//! recordings and perfect laps come: read with the `rosbag` crate (plain, bz2 and lz4 chunks),
//! their topics named by ROS 2's type names (`nav_msgs/Odometry` is `nav_msgs/msg/Odometry`)
//! so that one choice of topics serves both, and their messages — in ROS 1's serialisation:
//! little endian, unaligned, a `seq` in every header — decoded into the same message types as
//! rosbag2's CDR.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use rosbag::{ChunkRecord, MessageRecord, RosBag};

use super::error::BagError;
use super::messages::{
    Clock, Covariance, Header, Odometry, Pose, PoseWithCovariance, Quaternion, Time, Twist,
    TwistStamped, TwistWithCovariance, Vector3,
};
use super::storage::{Topic, KEPT_TYPES, ROS1_MAGIC as MAGIC};

/// The encoding a ROS 1 bag's topics are marked with.
pub const ENCODING: &str = "ros1";

/// ROS 2's name of a ROS 1 message type: `pkg/Name` → `pkg/msg/Name`.
pub fn ros2_type(ros1: &str) -> String {
    match ros1.split_once('/') {
        Some((package, name)) if !name.contains('/') => format!("{package}/msg/{name}"),
        _ => ros1.to_string(),
    }
}

/// The topics of the ROS 1 bag at `path`, in the order its connections appear, with every
/// message kept (receive time in nanoseconds, serialised bytes) for the types the scores
/// read and only counted for the rest.
pub fn read(path: &Path) -> Result<Vec<Topic>, BagError> {
    let corrupt = |what: String| BagError::Corrupt {
        path: path.to_path_buf(),
        what,
    };
    check_extent(path).map_err(corrupt)?;
    let bag =
        RosBag::new(path).map_err(|e| corrupt(format!("cannot open it as a ROS 1 bag: {e}")))?;
    let mut topics: Vec<Topic> = Vec::new();
    let mut by_connection: HashMap<u32, usize> = HashMap::new();
    let mut read = 0u64;
    for record in bag.chunk_records() {
        let record = record
            .map_err(|e| corrupt(format!("truncated or damaged after {read} messages: {e}")))?;
        let ChunkRecord::Chunk(chunk) = record else {
            continue;
        };
        for message in chunk.messages() {
            match message
                .map_err(|e| corrupt(format!("damaged chunk after {read} messages: {e}")))?
            {
                MessageRecord::Connection(c) => {
                    let type_name = ros2_type(c.tp);
                    let i = match topics
                        .iter()
                        .position(|t| t.name == c.topic && t.type_name == type_name)
                    {
                        Some(i) => i,
                        None => {
                            topics.push(Topic {
                                name: c.topic.to_string(),
                                type_name,
                                encoding: ENCODING.into(),
                                ..Topic::default()
                            });
                            topics.len() - 1
                        }
                    };
                    by_connection.insert(c.id, i);
                }
                MessageRecord::MessageData(m) => {
                    let Some(&i) = by_connection.get(&m.conn_id) else {
                        return Err(corrupt(format!(
                            "a message on connection {} before its connection record",
                            m.conn_id
                        )));
                    };
                    let topic = &mut topics[i];
                    topic.count += 1;
                    read += 1;
                    if KEPT_TYPES.contains(&topic.type_name.as_str()) {
                        let t = i64::try_from(m.time).unwrap_or(i64::MAX);
                        topic.messages.push((t, m.data.to_vec()));
                    }
                }
            }
        }
    }
    Ok(topics)
}

/// Checks that a ROS 1 bag is whole: its magic line, and its index (whose position the bag
/// header gives) inside the file. The `rosbag` crate assumes both, so a bag cut short would
/// otherwise stop the program instead of being reported.
fn check_extent(path: &Path) -> Result<(), String> {
    /// The bag header record is padded to 4096 bytes; read a little more.
    const HEADER_BYTES: u64 = 8192;
    let io = |e: std::io::Error| format!("cannot read it: {e}");
    let file = std::fs::File::open(path).map_err(io)?;
    let size = file.metadata().map_err(io)?.len();
    let mut data = Vec::new();
    file.take(HEADER_BYTES).read_to_end(&mut data).map_err(io)?;
    if !data.starts_with(MAGIC) {
        return Err("not a ROS 1 bag (format 2.0): no '#ROSBAG V2.0' line".into());
    }
    let u32_at = |at: usize| -> Option<usize> {
        Some(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?) as usize)
    };
    let cut = || "truncated: the bag header is incomplete".to_string();
    let header_len = u32_at(MAGIC.len()).ok_or_else(cut)?;
    let mut at = MAGIC.len() + 4;
    let end = at + header_len;
    let mut index_pos = None;
    while at < end {
        let len = u32_at(at).ok_or_else(cut)?;
        let field = data.get(at + 4..at + 4 + len).ok_or_else(cut)?;
        if let Some(value) = field.strip_prefix(b"index_pos=") {
            index_pos = value.try_into().ok().map(u64::from_le_bytes);
        }
        at += 4 + len;
    }
    let index_pos = index_pos.ok_or("the bag header has no index_pos")?;
    if index_pos > size {
        return Err(format!(
            "truncated: its index should start at byte {index_pos}, the file has {size} bytes"
        ));
    }
    Ok(())
}

/// A message in ROS 1's serialisation.
pub trait Ros1Message: Sized {
    /// Reads one from `r`.
    fn read(r: &mut Reader<'_>) -> Result<Self, String>;
}

/// Decodes one ROS 1 serialised message; every byte must belong to it.
pub fn decode<T: Ros1Message>(data: &[u8]) -> Result<T, String> {
    let mut r = Reader { data, at: 0 };
    let value = T::read(&mut r)?;
    if r.at != data.len() {
        return Err(format!(
            "{} bytes, of which the message takes {}: not a message of this type",
            data.len(),
            r.at
        ));
    }
    Ok(value)
}

/// Reads ROS 1's serialisation: little endian, no alignment, strings with a 32-bit length.
pub struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.data.len())
            .ok_or_else(|| format!("cut short ({} bytes)", self.data.len()))?;
        let bytes = &self.data[self.at..end];
        self.at = end;
        Ok(bytes)
    }

    fn u32(&mut self) -> Result<u32, String> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().expect("4 bytes"),
        ))
    }

    fn f64(&mut self) -> Result<f64, String> {
        Ok(f64::from_le_bytes(
            self.take(8)?.try_into().expect("8 bytes"),
        ))
    }

    fn string(&mut self) -> Result<String, String> {
        let n = self.u32()? as usize;
        let bytes = self.take(n)?;
        Ok(String::from_utf8_lossy(bytes).into_owned())
    }
}

impl Ros1Message for Time {
    fn read(r: &mut Reader<'_>) -> Result<Self, String> {
        let sec = r.u32()?;
        let nanosec = r.u32()?;
        Ok(Time {
            // ROS 1 times are unsigned; ROS 2's seconds are signed. Past 2038 they part.
            sec: i32::try_from(sec).map_err(|_| format!("a stamp of {sec} s is out of range"))?,
            nanosec,
        })
    }
}

impl Ros1Message for Header {
    fn read(r: &mut Reader<'_>) -> Result<Self, String> {
        let _seq = r.u32()?;
        Ok(Header {
            stamp: Time::read(r)?,
            frame_id: r.string()?,
        })
    }
}

impl Ros1Message for Vector3 {
    fn read(r: &mut Reader<'_>) -> Result<Self, String> {
        Ok(Vector3 {
            x: r.f64()?,
            y: r.f64()?,
            z: r.f64()?,
        })
    }
}

impl Ros1Message for Quaternion {
    fn read(r: &mut Reader<'_>) -> Result<Self, String> {
        Ok(Quaternion {
            x: r.f64()?,
            y: r.f64()?,
            z: r.f64()?,
            w: r.f64()?,
        })
    }
}

impl Ros1Message for Covariance {
    fn read(r: &mut Reader<'_>) -> Result<Self, String> {
        let mut halves = [[0.0; 18]; 2];
        for half in &mut halves {
            for v in half.iter_mut() {
                *v = r.f64()?;
            }
        }
        Ok(Covariance(halves[0], halves[1]))
    }
}

impl Ros1Message for Twist {
    fn read(r: &mut Reader<'_>) -> Result<Self, String> {
        Ok(Twist {
            linear: Vector3::read(r)?,
            angular: Vector3::read(r)?,
        })
    }
}

impl Ros1Message for Odometry {
    fn read(r: &mut Reader<'_>) -> Result<Self, String> {
        let header = Header::read(r)?;
        let child_frame_id = r.string()?;
        let pose = PoseWithCovariance {
            pose: Pose {
                position: Vector3::read(r)?,
                orientation: Quaternion::read(r)?,
            },
            covariance: Covariance::read(r)?,
        };
        let twist = TwistWithCovariance {
            twist: Twist::read(r)?,
            covariance: Covariance::read(r)?,
        };
        Ok(Odometry {
            header,
            child_frame_id,
            pose,
            twist,
        })
    }
}

impl Ros1Message for Clock {
    fn read(r: &mut Reader<'_>) -> Result<Self, String> {
        Ok(Clock {
            clock: Time::read(r)?,
        })
    }
}

impl Ros1Message for TwistStamped {
    fn read(r: &mut Reader<'_>) -> Result<Self, String> {
        Ok(TwistStamped {
            header: Header::read(r)?,
            twist: Twist::read(r)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ROS 1 serialised Odometry with the given frames, stamp and position.
    fn odometry(frame: &str, child: &str, stamp: (u32, u32), x: f64, y: f64) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(7u32.to_le_bytes());
        b.extend(stamp.0.to_le_bytes());
        b.extend(stamp.1.to_le_bytes());
        for s in [frame, child] {
            b.extend((s.len() as u32).to_le_bytes());
            b.extend(s.as_bytes());
        }
        // position, orientation (identity), covariance, twist, covariance.
        for v in [x, y, 0.0, 0.0, 0.0, 0.0, 1.0] {
            b.extend(v.to_le_bytes());
        }
        b.extend([0u8; 36 * 8]);
        for v in [2.5, 0.0, 0.0, 0.0, 0.0, -0.25] {
            b.extend(f64::to_le_bytes(v));
        }
        b.extend([0u8; 36 * 8]);
        b
    }

    #[test]
    fn odometry_decodes_field_by_field() {
        let data = odometry("odom", "base_link", (12, 500_000_000), 1.5, -2.25);
        let m: Odometry = decode(&data).unwrap();
        assert_eq!(m.header.frame_id, "odom");
        assert_eq!(m.child_frame_id, "base_link");
        assert!((m.header.stamp.seconds() - 12.5).abs() < 1e-12);
        let p = m.pose.pose.position;
        assert_eq!((p.x, p.y), (1.5, -2.25));
        assert_eq!(m.pose.pose.orientation.yaw(), 0.0);
        assert_eq!(
            (m.twist.twist.linear.x, m.twist.twist.angular.z),
            (2.5, -0.25)
        );
    }

    #[test]
    fn short_long_or_mistyped_messages_are_named() {
        let data = odometry("odom", "", (0, 0), 0.0, 0.0);
        assert!(decode::<Odometry>(&data[..100])
            .unwrap_err()
            .contains("cut short (100 bytes)"));
        let mut long = data.clone();
        long.push(0);
        assert!(decode::<Odometry>(&long)
            .unwrap_err()
            .contains("not a message of this type"));
        // An Odometry read as a Clock.
        assert!(decode::<Clock>(&data).is_err());
        // A string claiming 4 GB is an error, not an allocation.
        let mut huge = 0u32.to_le_bytes().repeat(3);
        huge.extend(u32::MAX.to_le_bytes());
        assert!(decode::<TwistStamped>(&huge).is_err());
    }

    #[test]
    fn type_names_follow_ros2() {
        assert_eq!(ros2_type("nav_msgs/Odometry"), "nav_msgs/msg/Odometry");
        assert_eq!(ros2_type("rosgraph_msgs/Clock"), "rosgraph_msgs/msg/Clock");
        assert_eq!(ros2_type("odd"), "odd");
    }
}
