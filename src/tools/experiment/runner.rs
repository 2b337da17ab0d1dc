//! Drives an experiment's cells: the circuits loaded and the models opened once up front (a
//! fault there stops everything before any lap), then one worker per core taking the next
//! cell to do, finished cells kept, a progress bar with an ETA, each cell written whole.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::base::camera::CameraConfig;
use crate::driving::pilot::{ExpertConfig, ExpertPilot, NetworkPilot, Pilot};
use crate::evaluation::circuit::lap_file;
use crate::inference::manifest::resolve_model;
use crate::sim::{self, Track};

use super::matrix::{cells, Cell, CellSettings, Shard};
use super::spec::{Experiment, PilotSetup};
use super::store::{self, Index};
use super::ExperimentError;

/// How to run.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// The experiment's folder.
    pub out: PathBuf,
    /// Parallel workers (default: one per core).
    pub workers: usize,
    /// The slice to run.
    pub shard: Shard,
    /// Draw a progress bar on the terminal (otherwise a line per cell on stderr).
    pub progress: bool,
}

/// What a run did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunSummary {
    /// Cells in this shard.
    pub cells: usize,
    /// Finished before and kept.
    pub kept: usize,
    /// Driven now.
    pub ran: usize,
    /// Workers that drove them.
    pub workers: usize,
    /// Wall time, seconds.
    pub wall_seconds: f64,
}

/// The most workers a run takes.
pub const MAX_WORKERS: usize = 256;

/// Runs the cells of `experiment` in `options.shard` that are not finished in `options.out`.
pub fn run(experiment: &Experiment, options: &RunOptions) -> Result<RunSummary, ExperimentError> {
    if options.workers == 0 || options.workers > MAX_WORKERS {
        return Err(ExperimentError::Setup {
            what: "workers".into(),
            message: format!("{} is not in [1, {MAX_WORKERS}]", options.workers),
        });
    }
    let started = Instant::now();
    let all = cells(experiment);
    let index = Index {
        experiment: experiment.clone(),
        cells: all.iter().map(|c| c.id(experiment)).collect(),
    };
    let cells_dir = store::cells_dir(&options.out);
    std::fs::create_dir_all(&cells_dir).map_err(super::io_error(&cells_dir))?;
    store::write_index(&options.out, &index)?;
    store::clear_partials(&cells_dir)?;
    let mine: Vec<Cell> = all
        .into_iter()
        .filter(|c| options.shard.contains(c.index))
        .collect();
    let todo: Vec<(Cell, CellSettings)> = mine
        .iter()
        .map(|c| (*c, c.settings(experiment)))
        .filter(|(_, s)| !store::is_finished(&cells_dir, s))
        .collect();
    let kept = mine.len() - todo.len();
    tracing::info!(cells = mine.len(), kept, todo = todo.len(), "experiment");
    let tracks = load_tracks(experiment, &todo)?;
    check_models(experiment, &todo)?;

    let progress = Progress::new(mine.len(), kept, options.progress);
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel::<(usize, Result<String, String>)>();
    let workers = options.workers.min(todo.len().max(1));
    let mut failed = Vec::new();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let tx = tx.clone();
            let (todo, next, tracks, cells_dir) = (&todo, &next, &tracks, &cells_dir);
            scope.spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((cell, settings)) = todo.get(i) else {
                    break;
                };
                let track = &tracks[&(cell.circuit, cell.reverse)];
                let result = run_cell(settings, track, cells_dir).map_err(|e| e.to_string());
                if tx.send((i, result)).is_err() {
                    break;
                }
            });
        }
        drop(tx);
        for (i, result) in rx {
            let id = &todo[i].1.id;
            match result {
                Ok(line) => progress.done(id, &line),
                Err(e) => {
                    progress.done(id, &format!("FAILED: {e}"));
                    failed.push(format!("{id}: {e}"));
                }
            }
        }
    });
    progress.finish();
    if !failed.is_empty() {
        return Err(ExperimentError::CellsFailed {
            failed,
            total: todo.len(),
        });
    }
    Ok(RunSummary {
        cells: mine.len(),
        kept,
        ran: todo.len(),
        workers: if todo.is_empty() { 0 } else { workers },
        wall_seconds: started.elapsed().as_secs_f64(),
    })
}

/// Every (circuit, direction) the cells to do drive, loaded once.
fn load_tracks(
    e: &Experiment,
    todo: &[(Cell, CellSettings)],
) -> Result<HashMap<(usize, bool), Track>, ExperimentError> {
    let mut tracks = HashMap::new();
    for (cell, _) in todo {
        let key = (cell.circuit, cell.reverse);
        if tracks.contains_key(&key) {
            continue;
        }
        let c = &e.circuits[cell.circuit];
        let fail = |message: String| ExperimentError::Setup {
            what: format!("circuit '{}'", c.name),
            message,
        };
        let mut track = Track::open(&c.source, None, cell.reverse, e.look())
            .map_err(|err| fail(err.to_string()))?;
        if let Some(lap) = &c.reference {
            let points = lap_file::read(lap).map_err(|err| fail(err.to_string()))?;
            track.circuit.set_reference_points(points);
        }
        tracks.insert(key, track);
    }
    Ok(tracks)
}

/// Opens every network the cells to do drive with, so that a missing file or engine stops the
/// run before its first lap.
fn check_models(e: &Experiment, todo: &[(Cell, CellSettings)]) -> Result<(), ExperimentError> {
    let mut seen = vec![false; e.models.len()];
    for (cell, _) in todo {
        if std::mem::replace(&mut seen[cell.model], true) {
            continue;
        }
        open_pilot(&e.models[cell.model].pilot, e.look().camera()).map_err(|message| {
            ExperimentError::Setup {
                what: format!("model '{}'", e.models[cell.model].name),
                message,
            }
        })?;
    }
    Ok(())
}

fn open_pilot(pilot: &PilotSetup, camera: CameraConfig) -> Result<Box<dyn Pilot>, String> {
    Ok(match pilot {
        PilotSetup::Expert => Box::new(ExpertPilot::new(camera, ExpertConfig::default())),
        PilotSetup::Network { model, backend, .. } => {
            let path = resolve_model(Path::new(model)).map_err(|err| err.to_string())?;
            Box::new(NetworkPilot::open(&path, backend).map_err(|err| err.to_string())?)
        }
    })
}

/// Drives one cell and writes it; returns its line for the progress log.
fn run_cell(
    settings: &CellSettings,
    track: &Track,
    cells_dir: &Path,
) -> Result<String, ExperimentError> {
    let fail = |message: String| ExperimentError::Setup {
        what: settings.id.clone(),
        message,
    };
    let pilot = open_pilot(&settings.model.pilot, track.camera()).map_err(fail)?;
    let mut config = settings
        .condition
        .sim_config(
            track.camera(),
            settings.laps,
            track.circuit.length(),
            settings.seed,
        )
        .map_err(|err| fail(err.to_string()))?;
    if let Some(t) = settings.circuit.timeout_s {
        config.timeout_s = t;
    }
    let run = sim::run(track, pilot, &config).map_err(|err| fail(err.to_string()))?;
    store::write_cell(cells_dir, settings, &run, &track.circuit)?;
    let l = &run.record.laps;
    Ok(format!(
        "{}, {:.1}% in {:.1} s, {:.2} m/s, deviation {:.3} m",
        l.end_reason.as_str(),
        l.percentage_completed,
        l.sim_seconds,
        l.average_speed_mps,
        l.position_deviation_mae_m
    ))
}

/// The progress bar (on a terminal) or a line per cell with the ETA (elsewhere).
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    total: usize,
    kept: usize,
    finished: AtomicUsize,
    started: Instant,
}

impl Progress {
    fn new(total: usize, kept: usize, draw: bool) -> Progress {
        let bar = (draw && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{elapsed_precise} [{bar:40}] {pos}/{len} cells, ETA {eta}",
                )
                .expect("a valid template")
                .progress_chars("=> "),
            );
            bar.set_position(kept as u64);
            bar.reset_eta();
            bar
        });
        if kept > 0 {
            eprintln!("{kept} of {total} cells already finished, kept");
        }
        Progress {
            bar,
            total,
            kept,
            finished: AtomicUsize::new(0),
            started: Instant::now(),
        }
    }

    fn done(&self, id: &str, line: &str) {
        let n = self.finished.fetch_add(1, Ordering::Relaxed) + 1;
        let position = self.kept + n;
        let left = self.total - position;
        let eta =
            Duration::from_secs_f64(self.started.elapsed().as_secs_f64() / n as f64 * left as f64);
        let text = format!("[{position}/{}] {id}: {line}", self.total);
        match &self.bar {
            Some(bar) => {
                bar.println(text);
                bar.inc(1);
            }
            None => eprintln!("{text} (ETA {})", format_duration(eta)),
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// `1h02m`, `3m05s`, `12s`.
pub fn format_duration(d: Duration) -> String {
    let s = d.as_secs();
    match (s / 3600, s / 60 % 60, s % 60) {
        (0, 0, s) => format!("{s}s"),
        (0, m, s) => format!("{m}m{s:02}s"),
        (h, m, _) => format!("{h}h{m:02}m"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        assert_eq!(format_duration(Duration::from_secs(12)), "12s");
        assert_eq!(format_duration(Duration::from_secs(185)), "3m05s");
        assert_eq!(format_duration(Duration::from_secs(3720)), "1h02m");
    }
}
