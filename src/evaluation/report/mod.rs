//! What a run's record looks like to people and tools: a table on the terminal, and an output
//! folder with `stats.json` (the record), `bm_stats.json` (Behavior Metrics' stats object),
//! `trajectory.csv`, `reference.csv` and `path.png` (a top view).

mod bm_stats;
mod plot;

pub use bm_stats::{bm_stats, circuit_diameter};

use std::io::Write;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::evaluation::circuit::Circuit;
use crate::evaluation::laps::Sample;
use crate::evaluation::record::RunRecord;

/// Could not write the report.
#[derive(Debug, Error)]
pub enum ReportError {
    /// A file or folder could not be written.
    #[error("cannot write {path}: {source}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The plot could not be drawn or saved.
    #[error("cannot write plot {path}: {reason}")]
    Plot {
        /// The PNG file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
}

/// The record as a readable table.
pub fn table(record: &RunRecord) -> String {
    let (r, l) = (&record.run, &record.laps);
    let opt = |v: Option<f64>, unit: &str| v.map_or("-".to_string(), |x| format!("{x:.3}{unit}"));
    let dir = if l.start.reverse {
        "reverse"
    } else {
        "forward"
    };
    let pilot = match (&r.backend, &r.device) {
        (Some(backend), Some(device)) => format!("{} ({backend} on {device})", r.pilot),
        _ => r.pilot.clone(),
    };
    let mut laps = match r.laps_requested {
        0 => format!("{} (the whole recording)", l.laps_completed),
        n => format!("{} of {n}", l.laps_completed),
    };
    if let Some(short) = l.lap_closed_short_m {
        laps += &format!(", the last closed by the recording's end {short:.2} m short");
    }
    let mut rows: Vec<(&str, String)> = vec![
        (
            "circuit",
            format!("{} ({dir}, {:.1} m)", r.circuit, r.circuit_length_m),
        ),
        ("pilot", pilot),
        ("end reason", l.end_reason.as_str().to_string()),
        ("laps completed", laps),
        ("lap time", opt(l.lap_seconds, " s")),
        ("completed", format!("{:.1} %", l.percentage_completed)),
        (
            "completed distance",
            format!("{:.1} m", l.completed_distance_m),
        ),
        ("average speed", format!("{:.2} m/s", l.average_speed_mps)),
        (
            "position deviation MAE",
            format!(
                "{:.3} m (max {:.3} m)",
                l.position_deviation_mae_m, l.position_deviation_max_m
            ),
        ),
        (
            "BM position deviation",
            format!(
                "{} (total {})",
                opt(l.bm.position_deviation_bm, ""),
                opt(l.bm.position_deviation_bm_total_err, "")
            ),
        ),
        (
            "BM completed / lap time",
            format!(
                "{:.2} % / {}",
                l.bm.percentage_completed_bm,
                opt(l.bm.lap_seconds_bm, " s")
            ),
        ),
    ];
    if let Some(b) = &record.brain {
        let c = &b.counters;
        rows.extend([
            (
                "brain iteration frequency",
                format!("{:.1} Hz", b.brain_iteration_frequency_hz),
            ),
            (
                "pilot step p50/p90/p99/max",
                format!(
                    "{:.3} / {:.3} / {:.3} / {:.3} ms",
                    b.step_ms_p50, b.step_ms_p90, b.step_ms_p99, b.step_ms_max
                ),
            ),
            (
                "inference mean/p50/p99",
                match (b.inference_ms_mean, b.inference_ms_p50, b.inference_ms_p99) {
                    (Some(a), Some(m), Some(p)) => format!(
                        "{a:.3} / {m:.3} / {p:.3} ms (preprocess p50 {})",
                        opt(b.preprocess_ms_p50, " ms")
                    ),
                    _ => "- (no network)".into(),
                },
            ),
            (
                "frames received / dropped",
                format!("{} / {}", c.frames_received, c.frames_dropped),
            ),
            (
                "pilot errors / non-finite / stalls",
                format!(
                    "{} / {} / {}",
                    c.safety.pilot_errors, c.safety.non_finite_commands, c.stall_stops
                ),
            ),
        ]);
    }
    if let Some(rec) = &record.recording {
        rows.extend([
            ("bag", format!("{} ({})", rec.bag, rec.bag_storage)),
            (
                "topics (odometry / clock / commands)",
                format!(
                    "{} / {} / {}",
                    rec.odometry_topic,
                    rec.clock_topic.as_deref().unwrap_or("-"),
                    rec.command_topic.as_deref().unwrap_or("-")
                ),
            ),
            (
                "commands",
                format!("{} ({})", rec.commands, opt(rec.command_rate_hz, " Hz")),
            ),
        ]);
    }
    rows.push((
        "started",
        format!(
            "{:.1} m along the line, {:+.2} m off it (reference point {})",
            l.start.start_offset_m,
            l.start.start_lateral_m,
            l.start
                .start_reference_index
                .map_or("- (none within 100 m)".into(), |i| i.to_string())
        ),
    ));
    match (record.wall_seconds, record.real_time_factor) {
        (Some(wall), Some(rtf)) => rows.extend([
            (
                "sim time / wall time",
                format!("{:.2} s / {wall:.2} s", l.sim_seconds),
            ),
            ("real-time factor", format!("{rtf:.1}x")),
            ("latency model", r.latency.clone()),
        ]),
        // A recording: its time is the odometry's; how fast its world ran is not in it.
        _ => rows.push((
            "time (from the odometry)",
            format!("{:.2} s from {:.3} s", l.sim_seconds, l.start.start_time_s),
        )),
    }
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    rows.iter()
        .map(|(k, v)| format!("{k:<width$}  {v}\n"))
        .collect()
}

/// Writes `record` as `stats.json` and Behavior Metrics' stats object as `bm_stats.json`,
/// with `trajectory.csv`, `path.png` and `reference.csv` (the raw reference points Behavior
/// Metrics' scores measured against, in the direction the record says the run drove) of the
/// run of `circuit` that made it, into `dir` (created if needed). Each file is written beside its name and renamed over it,
/// `stats.json` last: a reader, or a process killed midway, sees whole files, and a
/// `stats.json` whose folder holds the rest of the run.
pub fn write_dir(
    dir: &Path,
    record: &RunRecord,
    circuit: &Circuit,
    trajectory: &[Sample],
) -> Result<(), ReportError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let circuit = &circuit.in_direction(record.laps.start.reverse);
    atomically(&dir.join("reference.csv"), |tmp| {
        write_points(tmp, &circuit.reference_points).map_err(io(tmp))
    })?;
    atomically(&dir.join("trajectory.csv"), |tmp| {
        write_trajectory(tmp, trajectory).map_err(io(tmp))
    })?;
    atomically(&dir.join("path.png"), |tmp| {
        plot::plot_path(tmp, circuit, trajectory).map_err(|reason| ReportError::Plot {
            path: dir.join("path.png"),
            reason,
        })
    })?;
    write_records(dir, record, circuit)
}

/// Writes `record` as `stats.json` and `bm_stats.json` into the existing folder `dir`, each
/// atomically (a live run's checkpoint; [`write_dir`] writes the whole folder).
pub fn write_records(dir: &Path, record: &RunRecord, circuit: &Circuit) -> Result<(), ReportError> {
    let bm_text = serde_json::to_string_pretty(&bm_stats(record, &circuit.reference_points))
        .expect("a JSON value serialises");
    atomically(&dir.join("bm_stats.json"), |tmp| {
        std::fs::write(tmp, bm_text + "\n").map_err(io(tmp))
    })?;
    atomically(&dir.join("stats.json"), |tmp| {
        std::fs::write(tmp, record.to_json_pretty() + "\n").map_err(io(tmp))
    })
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError {
    let path = path.to_path_buf();
    move |source| ReportError::Io { path, source }
}

/// Runs `write` on a hidden file beside `path` with the same extension (`.stats.json` for
/// `stats.json`, so writers that go by the extension still work), then renames it over
/// `path`. A failed write removes the hidden file.
fn atomically(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<(), ReportError>,
) -> Result<(), ReportError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}"));
    let written = write(&tmp).and_then(|()| std::fs::rename(&tmp, path).map_err(io(path)));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// The raw reference points Behavior Metrics' scores were measured against, in driving
/// order, as `x,y`.
fn write_points(path: &Path, points: &[crate::base::geometry::Vec2]) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(w, "x,y")?;
    for p in points {
        writeln!(w, "{},{}", p.x, p.y)?;
    }
    w.flush()
}

fn write_trajectory(path: &Path, trajectory: &[Sample]) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(w, "t,x,y,yaw,v,w,progress_m,lateral_m")?;
    for s in trajectory {
        writeln!(
            w,
            "{},{},{},{},{},{},{},{}",
            s.t, s.x, s.y, s.yaw, s.v, s.w, s.progress_m, s.lateral_m
        )?;
    }
    w.flush()
}
