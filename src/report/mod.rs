//! What a run reports: one flat record with Behavior Metrics' statistics and the run's
//! settings, printed as a table or JSON and written to an output folder with the trajectory
//! and a plot.

pub mod live;
mod plot;

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;
use thiserror::Error;

use crate::circuit::Circuit;
use crate::metrics::{EndReason, Sample};
use crate::sim::{RunOutcome, SimConfig};

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

/// The statistics of one run, as printed by `--json` and saved as `stats.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunReport {
    /// Circuit name.
    pub circuit: String,
    /// `builtin` or the circuit file.
    pub circuit_source: String,
    /// Lap length along the reference line, metres.
    pub circuit_length_m: f64,
    /// Driven against the circuit's own direction.
    pub reverse: bool,
    /// The pilot.
    pub pilot: String,
    /// Laps asked for.
    pub laps_requested: u32,
    /// At least one lap completed.
    pub lap_completed: bool,
    /// Laps completed.
    pub laps_completed: u32,
    /// Each completed lap's duration, seconds.
    pub lap_times_s: Vec<f64>,
    /// Mean completed-lap duration, seconds (null without a completed lap).
    pub lap_seconds: Option<f64>,
    /// Reference checkpoints reached in order, percent of a lap.
    pub percentage_completed: f64,
    /// Path length driven, metres.
    pub completed_distance_m: f64,
    /// Completed distance / simulated time, m/s.
    pub average_speed_mps: f64,
    /// Mean distance of the odometry samples to the reference line, metres.
    pub position_deviation_mae_m: f64,
    /// Largest distance of an odometry sample to the reference line, metres.
    pub position_deviation_max_m: f64,
    /// Behavior Metrics' `position_deviation_mae` (mean of 1000**d), unitless.
    pub position_deviation_bm: Option<f64>,
    /// 1 / mean wall time of a pilot step, Hz.
    pub brain_iteration_frequency_hz: f64,
    /// Mean pilot step, milliseconds.
    pub step_ms_mean: f64,
    /// Median pilot step, milliseconds.
    pub step_ms_p50: f64,
    /// 90th percentile pilot step, milliseconds.
    pub step_ms_p90: f64,
    /// 99th percentile pilot step, milliseconds.
    pub step_ms_p99: f64,
    /// Longest pilot step, milliseconds.
    pub step_ms_max: f64,
    /// Median preprocessing time of a network pilot, milliseconds (null for the expert).
    pub preprocess_ms_p50: Option<f64>,
    /// Mean inference time of a network pilot, milliseconds (null for the expert).
    pub inference_ms_mean: Option<f64>,
    /// Median inference time, milliseconds.
    pub inference_ms_p50: Option<f64>,
    /// 99th percentile inference time, milliseconds.
    pub inference_ms_p99: Option<f64>,
    /// Simulated seconds per wall second of the whole loop.
    pub real_time_factor: f64,
    /// Frames the camera produced.
    pub frames: u64,
    /// Frames dropped because the brain was busy.
    pub frames_dropped: u64,
    /// Frames the pilot failed on (a stop was commanded).
    pub pilot_errors: u64,
    /// NaN or infinite commands replaced by a stop.
    pub non_finite_commands: u64,
    /// Simulated time of the run, seconds.
    pub sim_seconds: f64,
    /// Wall time of the run, seconds.
    pub wall_seconds: f64,
    /// Why the run ended.
    pub end_reason: EndReason,
    /// Latency model.
    pub latency: String,
    /// Camera rate, Hz.
    pub camera_hz: f64,
}

impl RunReport {
    /// Collects the report of `outcome`, a run of `circuit` under `config`.
    pub fn new(circuit: &Circuit, config: &SimConfig, outcome: &RunOutcome) -> Self {
        let l = &outcome.laps;
        let t = &outcome.timing;
        Self {
            circuit: circuit.name.clone(),
            circuit_source: circuit.source.clone(),
            circuit_length_m: circuit.length(),
            reverse: circuit.reversed,
            pilot: outcome.pilot.clone(),
            laps_requested: config.laps,
            lap_completed: l.lap_completed,
            laps_completed: l.laps_completed,
            lap_times_s: l.lap_times_s.clone(),
            lap_seconds: l.lap_seconds,
            percentage_completed: l.percentage_completed,
            completed_distance_m: l.completed_distance_m,
            average_speed_mps: l.average_speed_mps,
            position_deviation_mae_m: l.position_deviation_mae_m,
            position_deviation_max_m: l.position_deviation_max_m,
            position_deviation_bm: l.position_deviation_bm,
            brain_iteration_frequency_hz: t.frequency_hz,
            step_ms_mean: t.mean_ms,
            step_ms_p50: t.p50_ms,
            step_ms_p90: t.p90_ms,
            step_ms_p99: t.p99_ms,
            step_ms_max: t.max_ms,
            preprocess_ms_p50: outcome.stages.map(|s| s.preprocess.p50_ms),
            inference_ms_mean: outcome.stages.map(|s| s.inference.mean_ms),
            inference_ms_p50: outcome.stages.map(|s| s.inference.p50_ms),
            inference_ms_p99: outcome.stages.map(|s| s.inference.p99_ms),
            real_time_factor: outcome.real_time_factor,
            frames: outcome.frames,
            frames_dropped: outcome.frames_dropped,
            pilot_errors: outcome.safety.pilot_errors,
            non_finite_commands: outcome.safety.non_finite_commands,
            sim_seconds: l.sim_seconds,
            wall_seconds: outcome.wall_seconds,
            end_reason: l.end_reason,
            latency: config.latency.to_string(),
            camera_hz: config.camera.rate_hz,
        }
    }

    /// The report as one line of JSON.
    pub fn to_json(&self) -> String {
        // A struct of plain numbers, strings and vectors always serialises.
        serde_json::to_string(self).expect("report serialises")
    }

    /// The report as a readable table.
    pub fn to_table(&self) -> String {
        let opt =
            |v: Option<f64>, unit: &str| v.map_or("-".to_string(), |x| format!("{x:.3}{unit}"));
        let dir = if self.reverse { "reverse" } else { "forward" };
        let rows: Vec<(&str, String)> = vec![
            (
                "circuit",
                format!("{} ({dir}, {:.1} m)", self.circuit, self.circuit_length_m),
            ),
            ("pilot", self.pilot.clone()),
            ("end reason", self.end_reason.as_str().to_string()),
            (
                "laps completed",
                format!("{} of {}", self.laps_completed, self.laps_requested),
            ),
            ("lap time", opt(self.lap_seconds, " s")),
            ("completed", format!("{:.1} %", self.percentage_completed)),
            (
                "completed distance",
                format!("{:.1} m", self.completed_distance_m),
            ),
            (
                "average speed",
                format!("{:.2} m/s", self.average_speed_mps),
            ),
            (
                "position deviation MAE",
                format!(
                    "{:.3} m (max {:.3} m)",
                    self.position_deviation_mae_m, self.position_deviation_max_m
                ),
            ),
            (
                "position deviation (BM 1000^d)",
                opt(self.position_deviation_bm, ""),
            ),
            (
                "brain iteration frequency",
                format!("{:.1} Hz", self.brain_iteration_frequency_hz),
            ),
            (
                "pilot step p50/p90/p99/max",
                format!(
                    "{:.3} / {:.3} / {:.3} / {:.3} ms",
                    self.step_ms_p50, self.step_ms_p90, self.step_ms_p99, self.step_ms_max
                ),
            ),
            (
                "inference mean/p50/p99",
                match (
                    self.inference_ms_mean,
                    self.inference_ms_p50,
                    self.inference_ms_p99,
                ) {
                    (Some(a), Some(b), Some(c)) => format!(
                        "{a:.3} / {b:.3} / {c:.3} ms (preprocess p50 {:.3} ms)",
                        self.preprocess_ms_p50.unwrap_or(0.0)
                    ),
                    _ => "- (no network)".into(),
                },
            ),
            (
                "frames (dropped)",
                format!("{} ({})", self.frames, self.frames_dropped),
            ),
            (
                "pilot errors / non-finite",
                format!("{} / {}", self.pilot_errors, self.non_finite_commands),
            ),
            (
                "sim time / wall time",
                format!("{:.2} s / {:.2} s", self.sim_seconds, self.wall_seconds),
            ),
            ("real-time factor", format!("{:.1}x", self.real_time_factor)),
            ("latency model", self.latency.clone()),
        ];
        let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        let mut out = String::new();
        for (k, v) in rows {
            out += &format!("{k:<width$}  {v}\n");
        }
        out
    }

    /// Writes `stats.json`, `trajectory.csv` and `path.png` into `dir` (created if needed).
    pub fn write_dir(
        &self,
        dir: &Path,
        circuit: &Circuit,
        trajectory: &[Sample],
    ) -> Result<(), ReportError> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ReportError::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let stats = dir.join("stats.json");
        let pretty = serde_json::to_string_pretty(self).expect("report serialises");
        std::fs::write(&stats, pretty + "\n").map_err(io(&stats))?;
        let csv = dir.join("trajectory.csv");
        write_trajectory(&csv, trajectory).map_err(io(&csv))?;
        let png = dir.join("path.png");
        plot::plot_path(&png, circuit, trajectory).map_err(|reason| ReportError::Plot {
            path: png.clone(),
            reason,
        })
    }
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
