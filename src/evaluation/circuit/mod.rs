//! Circuits: a closed red centre line plus road geometry, built in or loaded from a lap file
//! (an `x,y` CSV, or Behavior Metrics' perfect laps as it ships them: see [`lap_file`]).
//! Whatever is loaded is validated, resampled to an even spacing and lightly smoothed, so
//! recorded odometry (with its jitter) becomes a clean line.

mod builtin;
pub mod lap_file;

use std::path::{Path, PathBuf};

use serde::Serialize;
use thiserror::Error;

pub use builtin::{BuiltinCircuit, BUILTIN_CIRCUITS};

use crate::base::geometry::{ClosedPolyline, Pose2, Vec2};
use crate::base::settings::{within, InvalidSetting};

/// Fewest points a circuit file may hold.
pub const MIN_POINTS: usize = 10;
/// Spacing of the resampled centre line, metres.
pub const RESAMPLE_SPACING_M: f64 = 0.1;
/// Standard deviation of the smoothing kernel, metres.
pub const SMOOTHING_SIGMA_M: f64 = 0.8;
/// Longest circuit, metres: five times the Nürburgring's Nordschleife. A longer one is a
/// damaged coordinate, and its centre line would be resampled into that many points.
pub const MAX_CIRCUIT_LENGTH_M: f64 = 100_000.0;
/// The ends of a file's lap may lie at most this far apart (or 3 point spacings, if larger).
pub const MAX_CLOSING_GAP_M: f64 = 2.0;

/// Why a circuit could not be loaded. Every variant names the input.
#[derive(Debug, Error)]
pub enum CircuitError {
    /// The argument is neither a built-in name nor an existing file.
    #[error("circuit '{name}': no built-in circuit has that name and no such file exists (built-in circuits: {available})")]
    Unknown {
        /// What the user passed.
        name: String,
        /// Comma-separated built-in names.
        available: String,
    },
    /// The file could not be read.
    #[error("circuit file {path}: cannot read it: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file has no content.
    #[error("circuit file {path}: the file is empty (expected a header 'x,y' and at least {MIN_POINTS} points)")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The header is neither `x,y` nor Behavior Metrics' odometry columns.
    #[error("circuit file {path}: header is '{found}', expected 'x,y' or Behavior Metrics' odometry columns (pose.pose.position.x, pose.pose.position.y)")]
    Header {
        /// The file.
        path: PathBuf,
        /// What the first line held.
        found: String,
    },
    /// A row does not hold as many fields as the header.
    #[error("circuit file {path}, line {line}: expected {expected} fields as in the header, found {found}")]
    Fields {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// Number of fields in the header.
        expected: usize,
        /// Number of fields found.
        found: usize,
    },
    /// A field is not a number.
    #[error("circuit file {path}, line {line}: '{value}' is not a number")]
    NotANumber {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// The offending text.
        value: String,
    },
    /// A field is NaN or infinite.
    #[error("circuit file {path}, line {line}: coordinate '{value}' is not finite")]
    NotFinite {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// The offending text.
        value: String,
    },
    /// The CSV itself is malformed.
    #[error("circuit file {path}: malformed CSV: {source}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// The parser's error.
        source: csv::Error,
    },
    /// Too few points to make a lap.
    #[error("circuit file {path}: {count} distinct points, a circuit needs at least {MIN_POINTS}")]
    TooFewPoints {
        /// The file.
        path: PathBuf,
        /// Distinct points found.
        count: usize,
    },
    /// The first and last points are far apart.
    #[error("circuit file {path}: not a closed loop: the last point is {gap:.2} m from the first (at most {limit:.2} m allowed)")]
    NotALoop {
        /// The file.
        path: PathBuf,
        /// Distance between first and last point, metres.
        gap: f64,
        /// The limit that applied, metres.
        limit: f64,
    },
    /// A ROS 1 bag that cannot be read as a lap.
    #[error("circuit file {path}: {what}")]
    Bag {
        /// The bag.
        path: PathBuf,
        /// What is wrong (naming the topic where one is concerned).
        what: String,
    },
    /// A road geometry setting is out of range.
    #[error("circuit {name}: {what}")]
    Geometry {
        /// The circuit.
        name: String,
        /// What is wrong.
        what: String,
    },
}

/// Road geometry drawn around the centre line.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RoadGeometry {
    /// Full road width, metres (the car leaves the road beyond half of it).
    pub road_width: f64,
    /// Width of the red centre line, metres.
    pub line_width: f64,
    /// Width of the white edge lines, metres.
    pub edge_width: f64,
}

impl Default for RoadGeometry {
    /// Behavior Metrics' road, [`RoadGeometry::behavior_metrics`].
    fn default() -> Self {
        Self::behavior_metrics()
    }
}

impl RoadGeometry {
    /// This project's first road (the classic look): 6 m wide, a 0.2 m red line, white edge
    /// lines 0.15 m wide.
    pub fn classic() -> Self {
        Self {
            road_width: 6.0,
            line_width: 0.2,
            edge_width: 0.15,
        }
    }

    /// Behavior Metrics' circuits as their Gazebo meshes measure: a 3 m road, a red line
    /// 0.10 m wide, no edge lines.
    pub fn behavior_metrics() -> Self {
        Self {
            road_width: 3.0,
            line_width: 0.10,
            edge_width: 0.0,
        }
    }

    /// Checks the widths; the error names the one that is wrong.
    pub fn validate(&self) -> Result<(), InvalidSetting> {
        within("road_width", self.road_width, 1.0, 50.0)?;
        if !(self.line_width > 0.0 && self.line_width < self.road_width / 2.0) {
            return Err(InvalidSetting::new(
                "line_width",
                format!(
                    "{} m must be positive and under half the road width",
                    self.line_width
                ),
            ));
        }
        within("edge_width", self.edge_width, 0.0, self.road_width / 2.0)?;
        Ok(())
    }
}

/// A circuit ready to drive: its centre line in driving order and its road.
#[derive(Debug, Clone)]
pub struct Circuit {
    /// Built-in name or file stem.
    pub name: String,
    /// Where it came from: `builtin` or the file path.
    pub source: String,
    /// True when driven against the file's (or design's) direction.
    pub reversed: bool,
    /// The red centre line, in driving order, starting at the start line.
    pub centre: ClosedPolyline,
    /// The points the line was made from, as the file (or design) holds them, in driving
    /// order: what Behavior Metrics' scores measure against.
    pub reference_points: Vec<Vec2>,
    /// Road geometry.
    pub road: RoadGeometry,
}

impl Circuit {
    /// Loads a built-in circuit by name or a CSV file by path.
    pub fn load(spec: &str, road: RoadGeometry, reversed: bool) -> Result<Circuit, CircuitError> {
        let (name, source, points) = if let Some(b) = builtin::find(spec) {
            (b.name.to_string(), "builtin".to_string(), (b.points)())
        } else {
            let path = Path::new(spec);
            if !path.exists() {
                return Err(CircuitError::Unknown {
                    name: spec.to_string(),
                    available: BUILTIN_CIRCUITS
                        .iter()
                        .map(|b| b.name)
                        .collect::<Vec<_>>()
                        .join(", "),
                });
            }
            let points = lap_file::read(path)?;
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| spec.to_string());
            (name, spec.to_string(), points)
        };
        Self::from_points(name, source, points, road, reversed)
    }

    /// Builds a circuit from validated lap points: resample, smooth, orient.
    pub fn from_points(
        name: String,
        source: String,
        points: Vec<Vec2>,
        road: RoadGeometry,
        reversed: bool,
    ) -> Result<Circuit, CircuitError> {
        road.validate().map_err(|e| CircuitError::Geometry {
            name: name.clone(),
            what: e.to_string(),
        })?;
        let geometry = |what: String| CircuitError::Geometry {
            name: name.clone(),
            what,
        };
        if let Some(p) = points
            .iter()
            .find(|p| !(p.x.is_finite() && p.y.is_finite()))
        {
            return Err(geometry(format!(
                "{source}: a point ({}, {}) is not finite",
                p.x, p.y
            )));
        }
        let mut reference_points = points.clone();
        let raw = ClosedPolyline::new(points);
        if raw.length().is_nan() || raw.length() > MAX_CIRCUIT_LENGTH_M {
            return Err(geometry(format!(
                "{source}: {:.0} m long, over the {MAX_CIRCUIT_LENGTH_M:.0} m a circuit may be \
                 (a damaged coordinate?)",
                raw.length()
            )));
        }
        let mut centre = raw
            .resampled(RESAMPLE_SPACING_M)
            .smoothed(SMOOTHING_SIGMA_M);
        if reversed {
            centre = centre.reversed();
            reference_points.reverse();
        }
        Ok(Circuit {
            name,
            source,
            reversed,
            centre,
            reference_points,
            road,
        })
    }

    /// The circuit driven against its file's order when `reversed`, along it otherwise.
    pub fn in_direction(&self, reversed: bool) -> Circuit {
        let mut c = self.clone();
        if reversed != self.reversed {
            c.centre = c.centre.reversed();
            c.reference_points.reverse();
            c.reversed = reversed;
        }
        c
    }

    /// Measures Behavior Metrics' scores against `points` (a reference lap in its file's
    /// order) instead of the circuit's own, walked in this circuit's driving direction.
    pub fn set_reference_points(&mut self, mut points: Vec<Vec2>) {
        if self.reversed {
            points.reverse();
        }
        self.reference_points = points;
    }

    /// Pose at the start line, facing the driving direction.
    pub fn start_pose(&self) -> Pose2 {
        self.pose_at(0.0)
    }

    /// Pose on the centre line `s` metres along the lap, facing the driving direction.
    pub fn pose_at(&self, s: f64) -> Pose2 {
        let (p, t) = self.centre.at(s);
        Pose2 {
            p,
            yaw: t.y.atan2(t.x),
        }
    }

    /// Lap length along the centre line, metres.
    pub fn length(&self) -> f64 {
        self.centre.length()
    }

    /// Smallest radius of curvature along the centre line (over 1 m chords), metres.
    pub fn min_radius(&self) -> f64 {
        let k = (1.0 / RESAMPLE_SPACING_M).round() as usize;
        let max_curv = self
            .centre
            .curvature(k)
            .into_iter()
            .fold(0.0f64, |m, c| m.max(c.abs()));
        1.0 / max_curv.max(1e-9)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write(content: &str) -> tempfile::NamedTempFile {
        let mut f = tempfile::Builder::new().suffix(".csv").tempfile().unwrap();
        f.write_all(content.as_bytes()).unwrap();
        f
    }

    fn square(n_side: usize, side: f64) -> String {
        let mut s = String::from("x,y\n");
        let corners = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)];
        for c in 0..4 {
            let (x0, y0) = corners[c];
            let (x1, y1) = corners[(c + 1) % 4];
            for k in 0..n_side {
                let t = k as f64 / n_side as f64;
                s += &format!(
                    "{},{}\n",
                    (x0 + (x1 - x0) * t) * side,
                    (y0 + (y1 - y0) * t) * side
                );
            }
        }
        s
    }

    fn load_err(content: &str) -> String {
        let f = write(content);
        let e =
            Circuit::load(f.path().to_str().unwrap(), RoadGeometry::default(), false).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.contains(&f.path().display().to_string()),
            "error must name the file: {msg}"
        );
        msg
    }

    #[test]
    fn loads_a_valid_file_and_resamples_it() {
        let f = write(&square(25, 50.0));
        let c = Circuit::load(f.path().to_str().unwrap(), RoadGeometry::default(), false).unwrap();
        assert!((c.length() - 200.0).abs() < 2.0, "length {}", c.length());
        let n = c.centre.len();
        assert!((c.length() / n as f64 - RESAMPLE_SPACING_M).abs() < 0.01);
    }

    #[test]
    fn rejects_bad_files_with_clear_errors() {
        assert!(load_err("").contains("empty"));
        assert!(load_err("a,b\n1,2\n").contains("header"));
        assert!(load_err("x,y\n1,2\n2,3\n3,3\n").contains("at least 10"));
        let mut bad = square(5, 40.0);
        bad += "1,abc\n";
        assert!(load_err(&bad).contains("'abc' is not a number"));
        let mut nan = square(5, 40.0);
        nan = nan.replacen("8,0", "NaN,0", 1);
        assert!(load_err(&nan).contains("not finite"));
        // Found by fuzzing: one coordinate a billion metres out made the centre line be
        // resampled into billions of points, and the process abort.
        let far = square(5, 40.0).replacen("8,0", "1e9,0", 1);
        assert!(
            load_err(&far).contains("m long, over the 100000 m"),
            "{}",
            load_err(&far)
        );
        let mut three = square(5, 40.0);
        three += "1,2,3\n";
        assert!(load_err(&three).contains("expected 2 fields as in the header, found 3"));
        // An open line: 20 points along a straight.
        let mut open = String::from("x,y\n");
        for i in 0..20 {
            open += &format!("{},0\n", i as f64 * 5.0);
        }
        assert!(load_err(&open).contains("not a closed loop"));
    }

    #[test]
    fn unknown_name_lists_builtins() {
        let e = Circuit::load("no_such_circuit", RoadGeometry::default(), false).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("no_such_circuit") && msg.contains(BUILTIN_CIRCUITS[0].name));
    }

    #[test]
    fn missing_file_is_unknown() {
        let e = Circuit::load("/nonexistent/c.csv", RoadGeometry::default(), false).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/c.csv"));
    }

    #[test]
    fn reversed_circuit_starts_at_same_point_facing_the_other_way() {
        let a = Circuit::load(BUILTIN_CIRCUITS[0].name, RoadGeometry::default(), false).unwrap();
        let b = Circuit::load(BUILTIN_CIRCUITS[0].name, RoadGeometry::default(), true).unwrap();
        let (pa, pb) = (a.start_pose(), b.start_pose());
        assert!(pa.p.dist(pb.p) < 1e-9);
        assert!(
            (crate::base::geometry::wrap_angle(pa.yaw - pb.yaw).abs() - std::f64::consts::PI).abs()
                < 0.05
        );
    }
}
