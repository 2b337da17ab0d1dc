//! The storage formats of bags, read without ROS: rosbag2's MCAP (Jazzy's default, with the
//! `mcap` crate over a memory map) and SQLite3 `.db3` (Humble and older, with `rusqlite`), and
//! ROS 1's `.bag` ([`super::ros1`]). Each file yields its topics, with every message kept for
//! the types the scores read and only counted for the rest (a camera topic is skipped, not
//! loaded).

use std::collections::HashMap;
use std::path::Path;

use super::error::BagError;

/// The message types whose messages are kept.
pub const KEPT_TYPES: [&str; 4] = [
    "nav_msgs/msg/Odometry",
    "rosgraph_msgs/msg/Clock",
    "geometry_msgs/msg/Twist",
    "geometry_msgs/msg/TwistStamped",
];

/// The first bytes of a ROS 1 bag (format 2.0).
pub const ROS1_MAGIC: &[u8] = b"#ROSBAG V2.0\n";

/// How a file stores its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage {
    /// MCAP.
    Mcap,
    /// SQLite3.
    Sqlite3,
    /// A ROS 1 bag (format 2.0).
    Ros1,
}

impl Storage {
    /// rosbag2's storage identifier.
    pub fn as_str(self) -> &'static str {
        match self {
            Storage::Mcap => "mcap",
            Storage::Sqlite3 => "sqlite3",
            Storage::Ros1 => "ros1",
        }
    }

    /// The storage a file's first bytes announce, if any.
    pub fn sniff(path: &Path) -> Result<Option<Storage>, BagError> {
        use std::io::Read;
        let mut head = [0u8; 16];
        let mut f = std::fs::File::open(path).map_err(|source| BagError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let n = f.read(&mut head).map_err(|source| BagError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(if head[..n].starts_with(b"\x89MCAP") {
            Some(Storage::Mcap)
        } else if head[..n].starts_with(b"SQLite format 3\0") {
            Some(Storage::Sqlite3)
        } else if head[..n].starts_with(ROS1_MAGIC) {
            Some(Storage::Ros1)
        } else {
            None
        })
    }
}

/// One topic of a file.
#[derive(Debug, Clone, Default)]
pub struct Topic {
    /// Name.
    pub name: String,
    /// Message type (`nav_msgs/msg/Odometry`).
    pub type_name: String,
    /// Serialisation (`cdr`).
    pub encoding: String,
    /// Messages on it.
    pub count: u64,
    /// (receive time in nanoseconds, serialised message) of each, for kept types.
    pub messages: Vec<(i64, Vec<u8>)>,
}

fn corrupt(path: &Path, what: impl std::fmt::Display) -> BagError {
    BagError::Corrupt {
        path: path.to_path_buf(),
        what: what.to_string(),
    }
}

/// Longest record of an MCAP file, bytes: its size, or 256 MiB for a file of compressed
/// chunks smaller than that. A damaged length field is refused instead of being reserved.
fn mcap_record_limit(file_len: usize) -> usize {
    file_len.max(256 << 20)
}

/// The topics of an MCAP file, read with the `mcap` crate's sans-I/O reader so that record
/// lengths are bounded (its message stream takes a damaged length as an allocation).
pub fn read_mcap(path: &Path) -> Result<Vec<Topic>, BagError> {
    use mcap::records::Record;
    use mcap::sans_io::linear_reader::{LinearReadEvent, LinearReader, LinearReaderOptions};

    let file = std::fs::File::open(path).map_err(|source| BagError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    // SAFETY: the map is only read, and only while `file` is open in this function; a bag
    // being rewritten underneath would at worst be reported as corrupt.
    let map = unsafe { memmap2::Mmap::map(&file) }.map_err(|source| BagError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut reader = LinearReader::new_with_options(
        LinearReaderOptions::default().with_record_length_limit(mcap_record_limit(map.len())),
    );
    let mut schemas: HashMap<u16, String> = HashMap::new();
    let mut channels: HashMap<u16, mcap::records::Channel> = HashMap::new();
    let mut topics: Vec<Topic> = Vec::new();
    let mut by_channel: HashMap<u16, usize> = HashMap::new();
    let (mut offset, mut read) = (0usize, 0u64);
    let damaged = |read: u64, e: &dyn std::fmt::Display| {
        corrupt(
            path,
            format!("truncated or damaged after {read} messages: {e}"),
        )
    };
    while let Some(event) = reader.next_event() {
        let (opcode, data) = match event.map_err(|e| damaged(read, &e))? {
            LinearReadEvent::ReadRequest(need) => {
                let n = need.min(map.len() - offset);
                reader.insert(n).copy_from_slice(&map[offset..offset + n]);
                reader.notify_read(n);
                offset += n;
                continue;
            }
            LinearReadEvent::Record { opcode, data } => (opcode, data),
        };
        match mcap::parse_record(opcode, data).map_err(|e| damaged(read, &e))? {
            Record::Schema { header, .. } => {
                schemas.entry(header.id).or_insert(header.name);
            }
            Record::Channel(channel) => {
                channels.entry(channel.id).or_insert(channel);
            }
            Record::Message { header, data } => {
                let channel = channels.get(&header.channel_id).ok_or_else(|| {
                    damaged(
                        read,
                        &format!(
                            "a message on channel {} before its channel record",
                            header.channel_id
                        ),
                    )
                })?;
                let i = *by_channel.entry(channel.id).or_insert_with(|| {
                    topics.push(Topic {
                        name: channel.topic.clone(),
                        type_name: schemas.get(&channel.schema_id).cloned().unwrap_or_default(),
                        encoding: channel.message_encoding.clone(),
                        ..Topic::default()
                    });
                    topics.len() - 1
                });
                let topic = &mut topics[i];
                topic.count += 1;
                read += 1;
                if KEPT_TYPES.contains(&topic.type_name.as_str()) {
                    let t = i64::try_from(header.log_time).unwrap_or(i64::MAX);
                    topic.messages.push((t, data.into_owned()));
                }
            }
            _ => {}
        }
    }
    Ok(merge_same_topics(topics))
}

/// Channels of one topic (a bag re-advertising it, or split over files) become one topic.
pub fn merge_same_topics(topics: Vec<Topic>) -> Vec<Topic> {
    let mut merged: Vec<Topic> = Vec::new();
    for t in topics {
        match merged
            .iter_mut()
            .find(|m| m.name == t.name && m.type_name == t.type_name)
        {
            Some(m) => {
                m.count += t.count;
                m.messages.extend(t.messages);
            }
            None => merged.push(t),
        }
    }
    merged
}

/// The topics of a SQLite3 (`.db3`) file.
pub fn read_sqlite(path: &Path) -> Result<Vec<Topic>, BagError> {
    use rusqlite::{Connection, OpenFlags};
    let sql =
        |e: rusqlite::Error| corrupt(path, format!("truncated or damaged SQLite3 database: {e}"));
    let db = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql)?;
    let mut topics = Vec::new();
    {
        let mut stmt = db
            .prepare("SELECT id, name, type, serialization_format FROM topics")
            .map_err(sql)?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                ))
            })
            .map_err(sql)?;
        for row in rows {
            let (id, name, type_name, encoding) = row.map_err(sql)?;
            topics.push((
                id,
                Topic {
                    name,
                    type_name,
                    encoding,
                    ..Topic::default()
                },
            ));
        }
    }
    let mut count = db
        .prepare("SELECT COUNT(*) FROM messages WHERE topic_id = ?1")
        .map_err(sql)?;
    let mut select = db
        .prepare("SELECT timestamp, data FROM messages WHERE topic_id = ?1 ORDER BY timestamp")
        .map_err(sql)?;
    for (id, topic) in &mut topics {
        topic.count = count
            .query_row([*id], |r| r.get::<_, i64>(0))
            .map_err(sql)? as u64;
        if KEPT_TYPES.contains(&topic.type_name.as_str()) {
            let rows = select
                .query_map([*id], |r| {
                    Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
                })
                .map_err(sql)?;
            for row in rows {
                topic.messages.push(row.map_err(sql)?);
            }
        }
    }
    Ok(topics.into_iter().map(|(_, t)| t).collect())
}
