//! Lap files: the points of a reference lap as users and Behavior Metrics have them.
//!
//! - an `x,y` CSV: a header `x,y` and one point per row in metres, in driving order;
//! - Behavior Metrics' CSV exports of odometry (what `bagpy` writes from its bags): any columns,
//!   among them `pose.pose.position.x` and `pose.pose.position.y`;
//! - Behavior Metrics' ROS 1 perfect-lap bags (`perfect_bags/lap-*.bag`): `nav_msgs/Odometry`
//!   on `/F1ROS/odom` (or the bag's only odometry topic), read as recordings are
//!   ([`crate::recording::ros1`]).
//!
//! Odometry is a recording, so it may run past the start line: as Behavior Metrics'
//! `read_perfect_lap_rosbag` does, the lap ends with the first point after the 100th that is
//! within 1 m of the start. Every format is then checked the same way: finite numbers, at least
//! [`MIN_POINTS`] distinct points, and ends close enough to make a loop.

use std::path::Path;

use super::{CircuitError, MAX_CLOSING_GAP_M, MIN_POINTS};
use crate::base::geometry::Vec2;
use crate::recording::messages::Odometry;
use crate::recording::ros1;
use crate::recording::{BagError, Topic};

/// The topic Behavior Metrics records its F1 car's odometry on.
pub const ODOMETRY_TOPIC: &str = "/F1ROS/odom";
/// The ROS message type of odometry (by its ROS 2 name, as the bag reader names it).
const ODOMETRY_TYPE: &str = "nav_msgs/msg/Odometry";
/// Behavior Metrics' odometry CSV columns.
const POSE_X: &str = "pose.pose.position.x";
const POSE_Y: &str = "pose.pose.position.y";
/// A recorded lap ends at the first point after this many that is back at the start.
const FINISH_AFTER_POINTS: usize = 100;
/// ... within this distance of it, metres. A recording of a run that ends this close short of
/// closing its lap has closed it too ([`crate::evaluation::laps`]).
pub const FINISH_RADIUS_M: f64 = 1.0;

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

/// The odometry positions of a ROS 1 bag, in the order recorded: `/F1ROS/odom`, or the bag's
/// only odometry topic.
fn read_bag(path: &Path) -> Result<Vec<Vec2>, CircuitError> {
    let bag_error = |what: String| CircuitError::Bag {
        path: path.to_path_buf(),
        what,
    };
    let topics = ros1::read(path).map_err(|e| match e {
        BagError::Corrupt { what, .. } => bag_error(what),
        other => bag_error(other.to_string()),
    })?;
    let odometry: Vec<&Topic> = topics
        .iter()
        .filter(|t| t.type_name == ODOMETRY_TYPE)
        .collect();
    let chosen = odometry
        .iter()
        .find(|t| t.name == ODOMETRY_TOPIC)
        .or(if odometry.len() == 1 {
            odometry.first()
        } else {
            None
        });
    let Some(topic) = chosen else {
        let mut names: Vec<String> = topics
            .iter()
            .map(|t| format!("{} ({})", t.name, t.type_name))
            .collect();
        names.sort();
        return Err(bag_error(format!(
            "no {ODOMETRY_TYPE} on {ODOMETRY_TOPIC}, nor a single odometry topic (topics: {})",
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        )));
    };
    topic
        .messages
        .iter()
        .map(|(_, data)| {
            let m: Odometry = ros1::decode(data).map_err(|what| {
                bag_error(format!(
                    "topic {}: a {ODOMETRY_TYPE} message {what}",
                    topic.name
                ))
            })?;
            let p = Vec2::new(m.pose.pose.position.x, m.pose.pose.position.y);
            if !p.is_finite() {
                return Err(bag_error(format!(
                    "topic {}: a {ODOMETRY_TYPE} message has a position that is not finite \
                     ({}, {})",
                    topic.name, p.x, p.y
                )));
            }
            Ok(p)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
