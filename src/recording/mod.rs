//! Recordings: rosbag2 bags (a folder with `metadata.yaml`, or one `.mcap` or `.db3` file)
//! and ROS 1 bags (`.bag`), read without a ROS install, and the odometry, simulated clock and
//! velocity commands of a run taken from them.
//!
//! Topics are found by type when not named: the bag's only `nav_msgs/msg/Odometry` topic
//! (`/odom`, else Behavior Metrics' `/F1ROS/odom`, when there are several), `/clock` or its
//! only `rosgraph_msgs/msg/Clock` topic, its only `geometry_msgs/msg/Twist` or `TwistStamped`
//! topic (`/cmd_vel`, else `/F1ROS/cmd_vel`, when there are several). A ROS 1 bag's types go
//! by their ROS 2 names. Every error names the bag (or file) and the topic.

mod error;
pub mod messages;
pub mod ros1;
mod storage;

use std::path::{Path, PathBuf};

pub use error::BagError;
pub use storage::{Storage, Topic};

use crate::base::geometry::{Pose2, Vec2};
use crate::base::sensor::Odometry;

/// Topics to read, where the user names them.
#[derive(Debug, Clone, Default)]
pub struct TopicChoice {
    /// Odometry topic.
    pub odometry: Option<String>,
    /// Clock topic.
    pub clock: Option<String>,
    /// Velocity command topic.
    pub command: Option<String>,
}

/// Where a recording's odometry times come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stamps {
    /// The messages' header stamps (simulated time under `use_sim_time`).
    Header,
    /// The time the recorder received them (the stamps were all zero).
    Received,
}

/// One velocity command.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecordedCommand {
    /// Receive time, seconds (the recorder's clock, as [`Recording::received`]).
    pub t: f64,
    /// Forward speed, m/s.
    pub v: f64,
    /// Yaw rate, rad/s.
    pub w: f64,
}

/// What a run's scores are computed from.
#[derive(Debug, Clone)]
pub struct Recording {
    /// The bag.
    pub path: PathBuf,
    /// Its storage.
    pub storage: Storage,
    /// The odometry topic.
    pub odometry_topic: String,
    /// Odometry in time order; `stamp` from [`Recording::stamps`].
    pub odometry: Vec<Odometry>,
    /// Receive time of each odometry message, seconds (the recorder's clock).
    pub received: Vec<f64>,
    /// Where the odometry times come from.
    pub stamps: Stamps,
    /// The clock topic, if there is one.
    pub clock_topic: Option<String>,
    /// Simulated time of each clock message, seconds.
    pub clock: Vec<f64>,
    /// The command topic, if there is one.
    pub command_topic: Option<String>,
    /// Commands in time order.
    pub commands: Vec<RecordedCommand>,
}

const ODOMETRY: &str = "nav_msgs/msg/Odometry";
const CLOCK: &str = "rosgraph_msgs/msg/Clock";
const TWIST: &str = "geometry_msgs/msg/Twist";
const TWIST_STAMPED: &str = "geometry_msgs/msg/TwistStamped";

/// A bag's storage files, from the path given: a folder (its `metadata.yaml`, else its
/// `.mcap` and `.db3` files) or one storage file.
fn storage_files(path: &Path) -> Result<Vec<(PathBuf, Storage)>, BagError> {
    let io = |source| BagError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    let candidates: Vec<PathBuf> = if meta.is_dir() {
        let yaml = path.join("metadata.yaml");
        if yaml.exists() {
            metadata_files(path, &yaml)?
        } else {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(io)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("mcap" | "db3")))
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(BagError::NotABag {
                    path: path.to_path_buf(),
                    what: "a folder with no metadata.yaml and no .mcap or .db3 file".into(),
                });
            }
            files
        }
    } else {
        vec![path.to_path_buf()]
    };
    candidates
        .into_iter()
        .map(|file| match Storage::sniff(&file)? {
            Some(s) => Ok((file, s)),
            None => Err(BagError::NotABag {
                path: file,
                what: "neither an MCAP file nor a SQLite3 database (rosbag2's storages) nor a \
                       ROS 1 bag"
                    .into(),
            }),
        })
        .collect()
}

/// The storage files `metadata.yaml` lists.
fn metadata_files(dir: &Path, yaml: &Path) -> Result<Vec<PathBuf>, BagError> {
    let bad = |what: String| BagError::Metadata {
        path: dir.to_path_buf(),
        what,
    };
    let text = std::fs::read_to_string(yaml).map_err(|source| BagError::Io {
        path: yaml.to_path_buf(),
        source,
    })?;
    let doc: serde_yaml::Value =
        serde_yaml::from_str(&text).map_err(|e| bad(format!("not YAML: {e}")))?;
    let info = &doc["rosbag2_bagfile_information"];
    if info.is_null() {
        return Err(bad("no rosbag2_bagfile_information".into()));
    }
    if info["compression_mode"].as_str() == Some("FILE") {
        return Err(bad(
            "its files are compressed whole (compression_mode FILE); decompress them with `ros2 bag decompress` first".into(),
        ));
    }
    let files: Vec<PathBuf> = info["relative_file_paths"]
        .as_sequence()
        .ok_or_else(|| bad("no relative_file_paths list".into()))?
        .iter()
        .map(|v| {
            v.as_str()
                .map(|s| dir.join(s))
                .ok_or_else(|| bad("relative_file_paths holds a non-string".into()))
        })
        .collect::<Result<_, _>>()?;
    if files.is_empty() {
        return Err(bad("relative_file_paths is empty".into()));
    }
    Ok(files)
}

/// The topics of the bag at `path`, messages of every file merged in time order.
pub fn read_topics(path: &Path) -> Result<(Storage, Vec<Topic>), BagError> {
    let files = storage_files(path)?;
    let storage = files[0].1;
    let mut all: Vec<Topic> = Vec::new();
    for (file, s) in &files {
        all.extend(match s {
            Storage::Mcap => storage::read_mcap(file)?,
            Storage::Sqlite3 => storage::read_sqlite(file)?,
            Storage::Ros1 => ros1::read(file)?,
        });
    }
    let mut topics = storage::merge_same_topics(all);
    for t in &mut topics {
        t.messages.sort_by_key(|(time, _)| *time);
    }
    Ok((storage, topics))
}

fn listing(topics: &[Topic]) -> String {
    if topics.is_empty() {
        return "none".into();
    }
    topics
        .iter()
        .map(|t| format!("{} [{}]", t.name, t.type_name))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The topic named `wanted`, or the one of `types` (preferring the first of `preferred` there
/// is among several). `None` when none is named and none has those types, unless
/// `required`.
fn choose<'a>(
    path: &Path,
    topics: &'a [Topic],
    wanted: Option<&str>,
    types: &[&str],
    preferred: &[&str],
    flag: &str,
    required: bool,
) -> Result<Option<&'a Topic>, BagError> {
    if let Some(name) = wanted {
        let t = topics
            .iter()
            .find(|t| t.name == name)
            .ok_or_else(|| BagError::NoTopic {
                path: path.to_path_buf(),
                what: format!("no topic {name}"),
                available: listing(topics),
            })?;
        if !types.contains(&t.type_name.as_str()) {
            return Err(BagError::WrongType {
                path: path.to_path_buf(),
                topic: name.to_string(),
                found: t.type_name.clone(),
                expected: types.join(" or "),
            });
        }
        return Ok(Some(t));
    }
    let of_type: Vec<&Topic> = topics
        .iter()
        .filter(|t| types.contains(&t.type_name.as_str()))
        .collect();
    match of_type.as_slice() {
        [] if required => Err(BagError::NoTopic {
            path: path.to_path_buf(),
            what: format!("no {} topic", types.join(" or ")),
            available: listing(topics),
        }),
        [] => Ok(None),
        [one] => Ok(Some(one)),
        many => match preferred
            .iter()
            .find_map(|name| many.iter().find(|t| t.name == *name))
        {
            Some(t) => Ok(Some(t)),
            None => Err(BagError::Ambiguous {
                path: path.to_path_buf(),
                type_name: types.join(" or "),
                candidates: many
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                flag: flag.to_string(),
            }),
        },
    }
}

/// Every message of `t`, decoded from its serialisation (rosbag2's CDR or ROS 1's), with its
/// receive time in seconds.
fn decode_all<T: serde::de::DeserializeOwned + ros1::Ros1Message>(
    path: &Path,
    t: &Topic,
) -> Result<Vec<(f64, T)>, BagError> {
    let decode: fn(&[u8]) -> Result<T, String> = match t.encoding.as_str() {
        "cdr" => messages::decode::<T>,
        ros1::ENCODING => ros1::decode::<T>,
        other => {
            return Err(BagError::Message {
                path: path.to_path_buf(),
                topic: t.name.clone(),
                index: 0,
                what: format!("serialised as '{other}', neither cdr nor ROS 1's"),
            })
        }
    };
    t.messages
        .iter()
        .enumerate()
        .map(|(index, (time, data))| {
            decode(data)
                .map(|m| (*time as f64 * 1e-9, m))
                .map_err(|what| BagError::Message {
                    path: path.to_path_buf(),
                    topic: t.name.clone(),
                    index,
                    what,
                })
        })
        .collect()
}

impl Recording {
    /// Reads the bag at `path`: its odometry (required), clock and commands.
    pub fn read(path: &Path, choice: &TopicChoice) -> Result<Recording, BagError> {
        let (storage, topics) = read_topics(path)?;
        let odom_topic = choose(
            path,
            &topics,
            choice.odometry.as_deref(),
            &[ODOMETRY],
            &["/odom", "/F1ROS/odom"],
            "--odom",
            true,
        )?
        .expect("a required topic is found or an error");
        let raw = decode_all::<messages::Odometry>(path, odom_topic)?;
        if raw.len() < 2 {
            return Err(BagError::NoTopic {
                path: path.to_path_buf(),
                what: format!(
                    "{} holds {} odometry messages, fewer than the two a path needs",
                    odom_topic.name,
                    raw.len()
                ),
                available: listing(&topics),
            });
        }
        let stamps = if raw.iter().all(|(_, m)| m.header.stamp.seconds() == 0.0) {
            Stamps::Received
        } else {
            Stamps::Header
        };
        let mut samples = Vec::with_capacity(raw.len());
        for (index, (received, m)) in raw.iter().enumerate() {
            let p = m.pose.pose.position;
            let odom = Odometry {
                stamp: match stamps {
                    Stamps::Header => m.header.stamp.seconds(),
                    Stamps::Received => *received,
                },
                pose: Pose2 {
                    p: Vec2::new(p.x, p.y),
                    yaw: m.pose.pose.orientation.yaw(),
                },
                v: m.twist.twist.linear.x,
                w: m.twist.twist.angular.z,
            };
            let finite = [odom.stamp, p.x, p.y, odom.pose.yaw, odom.v, odom.w]
                .iter()
                .all(|v| v.is_finite());
            if !finite {
                return Err(BagError::Message {
                    path: path.to_path_buf(),
                    topic: odom_topic.name.clone(),
                    index,
                    what: "a position, orientation, velocity or stamp is not finite".into(),
                });
            }
            samples.push((odom, *received));
        }
        // Time order by stamp (messages may arrive a little out of order).
        samples.sort_by(|a, b| a.0.stamp.total_cmp(&b.0.stamp));
        let (odometry, received) = samples.into_iter().unzip();

        let clock_topic = choose(
            path,
            &topics,
            choice.clock.as_deref(),
            &[CLOCK],
            &["/clock"],
            "--clock",
            false,
        )?;
        let clock = match clock_topic {
            Some(t) => decode_all::<messages::Clock>(path, t)?
                .into_iter()
                .map(|(_, c)| c.clock.seconds())
                .collect(),
            None => Vec::new(),
        };
        let command_topic = choose(
            path,
            &topics,
            choice.command.as_deref(),
            &[TWIST, TWIST_STAMPED],
            &["/cmd_vel", "/F1ROS/cmd_vel"],
            "--cmd",
            false,
        )?;
        let commands = match command_topic {
            Some(t) if t.type_name == TWIST_STAMPED => {
                decode_all::<messages::TwistStamped>(path, t)?
                    .into_iter()
                    .map(|(rx, m)| RecordedCommand {
                        t: rx,
                        v: m.twist.linear.x,
                        w: m.twist.angular.z,
                    })
                    .collect()
            }
            Some(t) => decode_all::<messages::Twist>(path, t)?
                .into_iter()
                .map(|(rx, m)| RecordedCommand {
                    t: rx,
                    v: m.linear.x,
                    w: m.angular.z,
                })
                .collect(),
            None => Vec::new(),
        };
        Ok(Recording {
            path: path.to_path_buf(),
            storage,
            odometry_topic: odom_topic.name.clone(),
            odometry,
            received,
            stamps,
            clock_topic: clock_topic.map(|t| t.name.clone()),
            clock,
            command_topic: command_topic.map(|t| t.name.clone()),
            commands,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bag_dir(metadata: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("metadata.yaml"), metadata).unwrap();
        dir
    }

    #[test]
    fn metadata_that_cannot_be_used_is_named() {
        let whole = bag_dir(
            "rosbag2_bagfile_information:\n  compression_mode: FILE\n  relative_file_paths: [a_0.mcap.zstd]\n",
        );
        let e = storage_files(whole.path()).unwrap_err().to_string();
        assert!(
            e.contains("metadata.yaml") && e.contains("ros2 bag decompress"),
            "{e}"
        );
        let listless = bag_dir("rosbag2_bagfile_information:\n  storage_identifier: mcap\n");
        let e = storage_files(listless.path()).unwrap_err().to_string();
        assert!(e.contains("relative_file_paths"), "{e}");
        let other = bag_dir("something: else\n");
        let e = storage_files(other.path()).unwrap_err().to_string();
        assert!(e.contains("rosbag2_bagfile_information"), "{e}");
    }

    #[test]
    fn a_listed_file_that_is_missing_or_no_bag_is_named() {
        let dir = bag_dir("rosbag2_bagfile_information:\n  relative_file_paths: [run_0.db3]\n");
        let e = storage_files(dir.path()).unwrap_err().to_string();
        assert!(e.contains("run_0.db3"), "{e}");
        std::fs::write(dir.path().join("run_0.db3"), "not sqlite").unwrap();
        let e = storage_files(dir.path()).unwrap_err().to_string();
        assert!(e.contains("run_0.db3") && e.contains("neither"), "{e}");
        let empty = tempfile::tempdir().unwrap();
        let e = storage_files(empty.path()).unwrap_err().to_string();
        assert!(e.contains("no metadata.yaml"), "{e}");
    }
}
