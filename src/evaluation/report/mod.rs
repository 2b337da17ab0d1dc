//! What a run's record looks like to people and tools: a table on the terminal, and an output
//! folder with `stats.json` (the record), `trajectory.csv` and `path.png` (a top view).

mod plot;

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
    let (r, l, b) = (&record.run, &record.laps, &record.brain);
    let c = &b.counters;
    let opt = |v: Option<f64>, unit: &str| v.map_or("-".to_string(), |x| format!("{x:.3}{unit}"));
    let dir = if r.reverse { "reverse" } else { "forward" };
    let pilot = match (&r.backend, &r.device) {
        (Some(backend), Some(device)) => format!("{} ({backend} on {device})", r.pilot),
        _ => r.pilot.clone(),
    };
    let rows: Vec<(&str, String)> = vec![
        (
            "circuit",
            format!("{} ({dir}, {:.1} m)", r.circuit, r.circuit_length_m),
        ),
        ("pilot", pilot),
        ("end reason", l.end_reason.as_str().to_string()),
        (
            "laps completed",
            format!("{} of {}", l.laps_completed, r.laps_requested),
        ),
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
            "position deviation (BM 1000^d)",
            opt(l.position_deviation_bm, ""),
        ),
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
        (
            "sim time / wall time",
            format!("{:.2} s / {:.2} s", l.sim_seconds, record.wall_seconds),
        ),
        (
            "real-time factor",
            format!("{:.1}x", record.real_time_factor),
        ),
        ("latency model", r.latency.clone()),
    ];
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    rows.iter()
        .map(|(k, v)| format!("{k:<width$}  {v}\n"))
        .collect()
}

/// Writes `record` as `stats.json`, with `trajectory.csv` and `path.png` of the run of
/// `circuit` that made it, into `dir` (created if needed).
pub fn write_dir(
    dir: &Path,
    record: &RunRecord,
    circuit: &Circuit,
    trajectory: &[Sample],
) -> Result<(), ReportError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| ReportError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let stats = dir.join("stats.json");
    std::fs::write(&stats, record.to_json_pretty() + "\n").map_err(io(&stats))?;
    let csv = dir.join("trajectory.csv");
    write_trajectory(&csv, trajectory).map_err(io(&csv))?;
    let png = dir.join("path.png");
    plot::plot_path(&png, circuit, trajectory).map_err(|reason| ReportError::Plot {
        path: png.clone(),
        reason,
    })
}

fn write_trajectory(path: &Path, trajectory: &[Sample]) -> std::io::Result<()> {
    let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
    writeln!(w, "t,x,y,yaw,v,w,progress_m,lateral_m")?;
    for s in trajectory {
        writeln!(
            w,
            "{:.3},{:.4},{:.4},{:.5},{:.4},{:.4},{:.3},{:.4}",
            s.t, s.x, s.y, s.yaw, s.v, s.w, s.progress_m, s.lateral_m
        )?;
    }
    w.flush()
}
