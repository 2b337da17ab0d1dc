//! An experiment's folder on disk: `experiment.json` (the experiment and its cells) and
//! `cells/<id>/`, one folder per finished cell with its settings (`cell.json`), run record
//! (`stats.json`), Behavior Metrics' stats (`bm_stats.json`), trajectory, reference, path
//! plot and per-frame compute times (`compute_ms.csv`).
//!
//! A cell is written into `<id>.partial/` and renamed into place once complete, so a folder
//! under its own name is always a whole, finished cell and an interrupted run leaves nothing
//! that looks done.

use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::base::geometry::Vec2;
use crate::evaluation::circuit::Circuit;
use crate::evaluation::laps::Sample;
use crate::evaluation::record::RunRecord;
use crate::evaluation::report;
use crate::sim::SimRun;

use super::matrix::CellSettings;
use super::spec::Experiment;
use super::{io_error, ExperimentError};

/// What `experiment.json` holds: the experiment and the folder names of its cells, in order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Index {
    /// The experiment, resolved.
    pub experiment: Experiment,
    /// Every cell's folder name, in the experiment's order (all shards').
    pub cells: Vec<String>,
}

/// A finished cell read back.
#[derive(Debug, Clone)]
pub struct CellResult {
    /// What it ran.
    pub settings: CellSettings,
    /// Its run record.
    pub record: RunRecord,
    /// Its odometry, with progress and lateral offset.
    pub trajectory: Vec<Sample>,
    /// The reference lap's points Behavior Metrics' scores measured against.
    pub reference: Vec<Vec2>,
    /// The brain's compute time per answered frame, milliseconds.
    pub compute_ms: Vec<f32>,
}

/// The folder of cells under an experiment folder.
pub fn cells_dir(out: &Path) -> PathBuf {
    out.join("cells")
}

/// Writes `experiment.json` into `out`.
pub fn write_index(out: &Path, index: &Index) -> Result<(), ExperimentError> {
    std::fs::create_dir_all(out).map_err(io_error(out))?;
    let path = out.join("experiment.json");
    let text = serde_json::to_string_pretty(index).expect("the index serialises");
    write_atomic(&path, (text + "\n").as_bytes())
}

/// Reads `experiment.json` from `out`.
pub fn read_index(out: &Path) -> Result<Index, ExperimentError> {
    let path = out.join("experiment.json");
    let text = std::fs::read_to_string(&path).map_err(io_error(&path))?;
    serde_json::from_str(&text).map_err(|e| ExperimentError::Corrupt {
        path,
        message: format!("not an experiment index: {e}"),
    })
}

/// Removes what interrupted runs left half-written.
pub fn clear_partials(cells: &Path) -> Result<(), ExperimentError> {
    let Ok(entries) = std::fs::read_dir(cells) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "partial") {
            std::fs::remove_dir_all(&path).map_err(io_error(&path))?;
        }
    }
    Ok(())
}

/// Whether the cell of `settings` is finished in `cells` with these very settings.
pub fn is_finished(cells: &Path, settings: &CellSettings) -> bool {
    let dir = cells.join(&settings.id);
    let Ok(text) = std::fs::read_to_string(dir.join("cell.json")) else {
        return false;
    };
    dir.join("stats.json").is_file()
        && serde_json::from_str::<CellSettings>(&text).is_ok_and(|s| same_settings(&s, settings))
}

/// Settings compared as their JSON (the engine's settings are kept in words there).
fn same_settings(a: &CellSettings, b: &CellSettings) -> bool {
    serde_json::to_value(a).ok() == serde_json::to_value(b).ok()
}

/// Writes a finished cell: everything into `<id>.partial/`, then renamed to `<id>/`
/// (replacing an outdated folder of that name).
pub fn write_cell(
    cells: &Path,
    settings: &CellSettings,
    run: &SimRun,
    circuit: &Circuit,
) -> Result<(), ExperimentError> {
    let done = cells.join(&settings.id);
    let partial = cells.join(format!("{}.partial", settings.id));
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(io_error(&partial))?;
    }
    report::write_dir(&partial, &run.record, circuit, &run.trajectory).map_err(|e| {
        ExperimentError::Io {
            path: partial.clone(),
            source: std::io::Error::other(e.to_string()),
        }
    })?;
    let compute = partial.join("compute_ms.csv");
    let mut text = String::with_capacity(run.compute_ms.len() * 8 + 16);
    text.push_str("compute_ms\n");
    for ms in &run.compute_ms {
        text.push_str(&format!("{ms}\n"));
    }
    std::fs::write(&compute, text).map_err(io_error(&compute))?;
    let cell = partial.join("cell.json");
    let json = serde_json::to_string_pretty(settings).expect("settings serialise");
    std::fs::write(&cell, json + "\n").map_err(io_error(&cell))?;
    if done.exists() {
        std::fs::remove_dir_all(&done).map_err(io_error(&done))?;
    }
    std::fs::rename(&partial, &done).map_err(io_error(&done))
}

/// Reads the finished cell in `dir`.
pub fn read_cell(dir: &Path) -> Result<CellResult, ExperimentError> {
    let json = |name: &str| -> Result<(PathBuf, String), ExperimentError> {
        let path = dir.join(name);
        let text = std::fs::read_to_string(&path).map_err(io_error(&path))?;
        Ok((path, text))
    };
    let corrupt = |path: &Path, message: String| ExperimentError::Corrupt {
        path: path.to_path_buf(),
        message,
    };
    let (path, text) = json("cell.json")?;
    let settings: CellSettings = serde_json::from_str(&text)
        .map_err(|e| corrupt(&path, format!("not a cell's settings: {e}")))?;
    let (path, text) = json("stats.json")?;
    let record: RunRecord = serde_json::from_str(&text)
        .map_err(|e| corrupt(&path, format!("not a run record: {e}")))?;
    let trajectory: Vec<Sample> = read_csv(&dir.join("trajectory.csv"))?;
    let reference: Vec<Vec2> = read_csv(&dir.join("reference.csv"))?;
    #[derive(Deserialize)]
    struct Compute {
        compute_ms: f32,
    }
    let compute: Vec<Compute> = read_csv(&dir.join("compute_ms.csv"))?;
    Ok(CellResult {
        settings,
        record,
        trajectory,
        reference,
        compute_ms: compute.into_iter().map(|c| c.compute_ms).collect(),
    })
}

fn read_csv<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<Vec<T>, ExperimentError> {
    let mut reader = csv::Reader::from_path(path).map_err(|e| ExperimentError::Corrupt {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    reader
        .deserialize()
        .enumerate()
        .map(|(i, row)| {
            row.map_err(|e| ExperimentError::Corrupt {
                path: path.to_path_buf(),
                message: format!("row {}: {e}", i + 2),
            })
        })
        .collect()
}

/// Writes `bytes` to `path` through a temporary file renamed into place.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), ExperimentError> {
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::File::create(&tmp).map_err(io_error(&tmp))?;
    f.write_all(bytes).map_err(io_error(&tmp))?;
    f.sync_all().map_err(io_error(&tmp))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io_error(path))
}
