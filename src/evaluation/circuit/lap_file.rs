//! Lap files: the points of a reference lap as users and Behavior Metrics have them.
//!
//! - an `x,y` CSV: a header `x,y` and one point per row in metres, in driving order;
//! - Behavior Metrics' CSV exports of odometry (what `bagpy` writes from its bags): any columns,
//!   among them `pose.pose.position.x` and `pose.pose.position.y`;
//! - Behavior Metrics' ROS 1 perfect-lap bags (`perfect_bags/lap-*.bag`): `nav_msgs/Odometry`
//!   on `/F1ROS/odom` (or the bag's only odometry topic), read with the `rosbag` crate.
//!
//! Odometry is a recording, so it may run past the start line: as Behavior Metrics'
//! `read_perfect_lap_rosbag` does, the lap ends with the first point after the 100th that is
//! within 1 m of the start. Every format is then checked the same way: finite numbers, at least
//! [`MIN_POINTS`] distinct points, and ends close enough to make a loop.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use rosbag::{ChunkRecord, MessageRecord, RosBag};

use super::{CircuitError, MAX_CLOSING_GAP_M, MIN_POINTS};
use crate::base::geometry::Vec2;

/// The topic Behavior Metrics records its F1 car's odometry on.
pub const ODOMETRY_TOPIC: &str = "/F1ROS/odom";
/// The ROS message type of odometry.
const ODOMETRY_TYPE: &str = "nav_msgs/Odometry";
/// Behavior Metrics' odometry CSV columns.
const POSE_X: &str = "pose.pose.position.x";
const POSE_Y: &str = "pose.pose.position.y";
/// A recorded lap ends at the first point after this many that is back at the start.
const FINISH_AFTER_POINTS: usize = 100;
/// ... within this distance of it, metres.
const FINISH_RADIUS_M: f64 = 1.0;

/// Reads and validates the lap in `path`, in driving order.
pub fn read(path: &Path) -> Result<Vec<Vec2>, CircuitError> {
    let is_bag = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("bag"));
    let points = if is_bag {
        up_to_finish(read_bag(path)?)
    } else {
        let (points, recorded) = read_csv(path)?;
        if recorded {
            up_to_finish(points)
        } else {
            points
        }
    };
    validate(path, points)
}

/// The points of a recording up to where it first comes back to its start (all of them when it
/// never does).
fn up_to_finish(mut points: Vec<Vec2>) -> Vec<Vec2> {
    if let Some(&start) = points.first() {
        if let Some(end) = points
            .iter()
            .enumerate()
            .skip(FINISH_AFTER_POINTS + 1)
            .find(|(_, p)| p.dist(start) <= FINISH_RADIUS_M)
            .map(|(i, _)| i)
        {
            points.truncate(end + 1);
        }
    }
    points
}

/// Distinct points, enough of them, closing into a loop.
fn validate(path: &Path, mut points: Vec<Vec2>) -> Result<Vec<Vec2>, CircuitError> {
    let p = || path.to_path_buf();
    // Distinct consecutive points: a lap recorded while standing still repeats its position.
    points.dedup_by(|a, b| a.dist(*b) < 1e-6);
    if points.len() < MIN_POINTS {
        return Err(CircuitError::TooFewPoints {
            path: p(),
            count: points.len(),
        });
    }
    let mut spacings: Vec<f64> = points.windows(2).map(|w| w[0].dist(w[1])).collect();
    spacings.sort_by(f64::total_cmp);
    let median = spacings[spacings.len() / 2];
    let gap = points[0].dist(points[points.len() - 1]);
    let limit = MAX_CLOSING_GAP_M.max(3.0 * median);
    if gap > limit {
        return Err(CircuitError::NotALoop {
            path: p(),
            gap,
            limit,
        });
    }
    Ok(points)
}

/// The points of a CSV lap, and whether it is a recording (Behavior Metrics' odometry columns)
/// rather than an `x,y` line.
fn read_csv(path: &Path) -> Result<(Vec<Vec2>, bool), CircuitError> {
    let p = || path.to_path_buf();
    let text =
        std::fs::read_to_string(path).map_err(|source| CircuitError::Io { path: p(), source })?;
    if text.trim().is_empty() {
        return Err(CircuitError::Empty { path: p() });
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut records = reader.records();
    let header = match records.next() {
        Some(r) => r.map_err(|source| CircuitError::Csv { path: p(), source })?,
        None => return Err(CircuitError::Empty { path: p() }),
    };
    let fields: Vec<&str> = header.iter().collect();
    let plain = fields.len() == 2
        && fields[0].eq_ignore_ascii_case("x")
        && fields[1].eq_ignore_ascii_case("y");
    let column = |name: &str| fields.iter().position(|f| *f == name);
    let (cx, cy) = match (plain, column(POSE_X), column(POSE_Y)) {
        (true, _, _) => (0, 1),
        (false, Some(cx), Some(cy)) => (cx, cy),
        _ => {
            return Err(CircuitError::Header {
                path: p(),
                found: fields.join(","),
            })
        }
    };
    let width = fields.len();
    let mut points = Vec::new();
    for rec in records {
        let rec = rec.map_err(|source| CircuitError::Csv { path: p(), source })?;
        let line = rec.position().map_or(0, |pos| pos.line());
        if rec.len() == 1 && rec[0].is_empty() {
            continue; // blank line
        }
        if rec.len() != width {
            return Err(CircuitError::Fields {
                path: p(),
                line,
                expected: width,
                found: rec.len(),
            });
        }
        let mut xy = [0.0; 2];
        for (k, c) in [cx, cy].into_iter().enumerate() {
            let field = &rec[c];
            let v: f64 = field.parse().map_err(|_| CircuitError::NotANumber {
                path: p(),
                line,
                value: field.to_string(),
            })?;
            if !v.is_finite() {
                return Err(CircuitError::NotFinite {
                    path: p(),
                    line,
                    value: field.to_string(),
                });
            }
            xy[k] = v;
        }
        points.push(Vec2::new(xy[0], xy[1]));
    }
    Ok((points, !plain))
}

/// The odometry positions of a ROS 1 bag, in the order recorded.
fn read_bag(path: &Path) -> Result<Vec<Vec2>, CircuitError> {
    let bag_error = |what: String| CircuitError::Bag {
        path: path.to_path_buf(),
        what,
    };
    check_bag_extent(path).map_err(&bag_error)?;
    let bag =
        RosBag::new(path).map_err(|e| bag_error(format!("cannot open it as a ROS 1 bag: {e}")))?;
    // Connection id → (topic, type); positions per odometry connection.
    let mut connections: HashMap<u32, (String, String)> = HashMap::new();
    let mut positions: HashMap<u32, Vec<Vec2>> = HashMap::new();
    for record in bag.chunk_records() {
        let record = record.map_err(|e| bag_error(format!("corrupt or truncated: {e}")))?;
        let ChunkRecord::Chunk(chunk) = record else {
            continue;
        };
        for message in chunk.messages() {
            match message.map_err(|e| bag_error(format!("corrupt or truncated chunk: {e}")))? {
                MessageRecord::Connection(c) => {
                    connections.insert(c.id, (c.topic.to_string(), c.tp.to_string()));
                }
                MessageRecord::MessageData(m) => {
                    let Some((topic, tp)) = connections.get(&m.conn_id) else {
                        continue;
                    };
                    if tp != ODOMETRY_TYPE {
                        continue;
                    }
                    let p = odometry_position(m.data).map_err(|what| {
                        bag_error(format!("topic {topic}: a {ODOMETRY_TYPE} message {what}"))
                    })?;
                    positions.entry(m.conn_id).or_default().push(p);
                }
            }
        }
    }
    let odometry: Vec<(&u32, &(String, String))> = connections
        .iter()
        .filter(|(_, (_, tp))| tp == ODOMETRY_TYPE)
        .collect();
    let chosen = odometry
        .iter()
        .find(|(_, (topic, _))| topic == ODOMETRY_TOPIC)
        .or(if odometry.len() == 1 {
            odometry.first()
        } else {
            None
        });
    let Some((id, _)) = chosen else {
        let mut topics: Vec<String> = connections
            .values()
            .map(|(t, tp)| format!("{t} ({tp})"))
            .collect();
        topics.sort();
        return Err(bag_error(format!(
            "no {ODOMETRY_TYPE} on {ODOMETRY_TOPIC}, nor a single odometry topic (topics: {})",
            if topics.is_empty() {
                "none".to_string()
            } else {
                topics.join(", ")
            }
        )));
    };
    Ok(positions.remove(id).unwrap_or_default())
}

/// Checks that a ROS 1 bag is whole: its magic line, and its index (whose position the bag
/// header gives) inside the file. The `rosbag` crate assumes both, so a bag cut short would
/// otherwise stop the program instead of being reported.
fn check_bag_extent(path: &Path) -> Result<(), String> {
    const MAGIC: &[u8] = b"#ROSBAG V2.0\n";
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

/// `pose.pose.position` (x, y) of a ROS 1 serialised `nav_msgs/Odometry`: a `std_msgs/Header`
/// (seq, stamp, frame_id), `child_frame_id`, then the pose's position as three `float64`.
fn odometry_position(data: &[u8]) -> Result<Vec2, String> {
    let mut at = 0usize;
    let mut take = |n: usize| -> Result<&[u8], String> {
        let end = at
            .checked_add(n)
            .filter(|&e| e <= data.len())
            .ok_or_else(|| format!("is cut short ({} bytes)", data.len()))?;
        let bytes = &data[at..end];
        at = end;
        Ok(bytes)
    };
    let u32_at = |b: &[u8]| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
    take(12)?; // seq, stamp.sec, stamp.nsec
    let frame_id = u32_at(take(4)?);
    take(frame_id)?;
    let child_frame_id = u32_at(take(4)?);
    take(child_frame_id)?;
    let x = f64::from_le_bytes(take(8)?.try_into().expect("8 bytes"));
    let y = f64::from_le_bytes(take(8)?.try_into().expect("8 bytes"));
    if !(x.is_finite() && y.is_finite()) {
        return Err(format!("has a position that is not finite ({x}, {y})"));
    }
    Ok(Vec2::new(x, y))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A serialised Odometry with the given frame names and position.
    fn odometry(frame: &str, child: &str, x: f64, y: f64) -> Vec<u8> {
        let mut b = vec![0u8; 12];
        for s in [frame, child] {
            b.extend((s.len() as u32).to_le_bytes());
            b.extend(s.as_bytes());
        }
        for v in [x, y, 0.0] {
            b.extend(v.to_le_bytes());
        }
        b
    }

    #[test]
    fn odometry_positions_decode_and_short_messages_are_named() {
        let m = odometry("odom", "base_link", 1.5, -2.25);
        assert_eq!(odometry_position(&m).unwrap(), Vec2::new(1.5, -2.25));
        let e = odometry_position(&m[..30]).unwrap_err();
        assert!(e.contains("cut short (30 bytes)"), "{e}");
        let nan = odometry("odom", "", f64::NAN, 0.0);
        assert!(odometry_position(&nan).unwrap_err().contains("not finite"));
    }

    #[test]
    fn a_recording_ends_where_it_first_comes_back_to_the_start() {
        // Two laps of a 200-point circle: kept up to the start of the second.
        let circle: Vec<Vec2> = (0..400)
            .map(|i| {
                let a = i as f64 * std::f64::consts::TAU / 200.0;
                Vec2::new(20.0 * a.cos(), 20.0 * a.sin())
            })
            .collect();
        assert_eq!(up_to_finish(circle.clone()).len(), 200);
        // Never back at the start: kept whole.
        assert_eq!(up_to_finish(circle[..150].to_vec()).len(), 150);
    }
}
