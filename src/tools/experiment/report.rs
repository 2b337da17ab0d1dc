//! An experiment's report from its finished cells — `tables.md`, `results.csv`, the figures
//! (PNG and SVG) and `index.html` in one folder — and the merge of shards' folders into one
//! (`--collect`).

use std::path::{Path, PathBuf};

use super::aggregate::{self, Row};
use super::figures::{self, Boxplots, ComputeTimes, Paths};
use super::page::{self, PageFigure, Section};
use super::store::{self, CellResult, Index};
use super::{io_error, ExperimentError};

/// What a report holds.
#[derive(Debug, Clone)]
pub struct ReportSummary {
    /// Finished cells reported.
    pub cells: usize,
    /// Cells of the experiment not finished (not in the tables).
    pub missing: Vec<String>,
    /// Figures drawn (each as PNG and SVG).
    pub figures: usize,
    /// The page.
    pub page: PathBuf,
}

/// The finished cells of the experiment in `out`, in the experiment's order, and the names
/// of those not finished.
pub fn read_results(
    out: &Path,
    index: &Index,
) -> Result<(Vec<CellResult>, Vec<String>), ExperimentError> {
    let cells = store::cells_dir(out);
    let mut results = Vec::new();
    let mut missing = Vec::new();
    for id in &index.cells {
        let dir = cells.join(id);
        if dir.join("stats.json").is_file() {
            results.push(store::read_cell(&dir)?);
        } else {
            missing.push(id.clone());
        }
    }
    Ok((results, missing))
}

/// Writes the report of the experiment in `out` into `dir`.
pub fn write(out: &Path, dir: &Path) -> Result<ReportSummary, ExperimentError> {
    let index = store::read_index(out)?;
    let (results, missing) = read_results(out, &index)?;
    let e = &index.experiment;
    let figures_dir = dir.join("figures");
    std::fs::create_dir_all(&figures_dir).map_err(io_error(&figures_dir))?;
    let rows = aggregate::rows(&index, &results);
    let summary =
        format!(
        "{} of {} cells finished: {} models × {} circuits × {} directions × {} conditions × {} \
         repetitions, {} lap(s) each; {:.0} s of simulated driving in {:.0} s of cell wall time.",
        results.len(),
        index.cells.len(),
        e.models.len(),
        e.circuits.len(),
        e.directions.len(),
        e.conditions.len(),
        e.repetitions,
        e.laps,
        results.iter().map(|r| r.record.laps.sim_seconds).sum::<f64>(),
        results.iter().filter_map(|r| r.record.wall_seconds).sum::<f64>(),
    );
    let mut md = format!("## {}\n\n{}\n\n{summary}\n\n", e.name, e.description);
    if !missing.is_empty() {
        md.push_str(&format!("Not finished: {}.\n\n", missing.join(", ")));
    }
    md.push_str(&aggregate::markdown(&index, &rows));
    let tables = dir.join("tables.md");
    store::write_atomic(&tables, md.as_bytes())?;
    let csv = dir.join("results.csv");
    store::write_atomic(&csv, aggregate::csv(&rows).as_bytes())?;

    let mut sections = Vec::new();
    let mut drawn = 0;
    for c in &e.circuits {
        let mine: Vec<Row> = rows
            .iter()
            .filter(|r| r.circuit == c.name)
            .cloned()
            .collect();
        if mine.is_empty() {
            continue;
        }
        let mut list = Vec::new();
        for condition in &e.conditions {
            let tag = format!("{}-{}", c.name, condition.name);
            let boxes = Boxplots::of(&index, &results, &c.name, &condition.name);
            if boxes
                .panels
                .iter()
                .all(|(_, v)| v.iter().all(|m| m.is_empty()))
            {
                continue;
            }
            figures::save(&boxes, &figures_dir.join(format!("boxplot-{tag}")))?;
            list.push(PageFigure {
                title: format!(
                    "{}: average speed, percentage completed, position deviation",
                    boxes.title
                ),
                stem: format!("figures/boxplot-{tag}"),
            });
            for (plan, kind) in [(true, "trajectories"), (false, "deviation")] {
                let paths = Paths::of(&index, &results, &c.name, &condition.name, plan);
                figures::save(&paths, &figures_dir.join(format!("{kind}-{tag}")))?;
                list.push(PageFigure {
                    title: paths.title.clone(),
                    stem: format!("figures/{kind}-{tag}"),
                });
            }
            drawn += 3;
        }
        sections.push(Section {
            heading: c.name.clone(),
            rows: mine,
            figures: list,
        });
    }
    let times = ComputeTimes::of(&index, &results);
    if !times.models.is_empty() {
        figures::save(&times, &figures_dir.join("compute-time"))?;
        drawn += 1;
        sections.push(Section {
            heading: "compute time".into(),
            rows: Vec::new(),
            figures: vec![PageFigure {
                title: "brain compute time per frame, every run of each model".into(),
                stem: "figures/compute-time".into(),
            }],
        });
    }
    let html = page::html(&index, &summary, &sections);
    let page = dir.join("index.html");
    store::write_atomic(&page, html.as_bytes())?;
    Ok(ReportSummary {
        cells: results.len(),
        missing,
        figures: drawn,
        page,
    })
}

/// Merges the experiment folders `dirs` (shards of one experiment) into `out`: the same
/// experiment in each (else an error naming the folder that differs), every finished cell
/// copied once. Returns the merged index; a cell no folder finished is an error naming it.
pub fn collect(dirs: &[PathBuf], out: &Path) -> Result<Index, ExperimentError> {
    let Some(first) = dirs.first() else {
        return Err(ExperimentError::Collect(
            "--collect needs at least one folder".into(),
        ));
    };
    let index = store::read_index(first)?;
    let cells_out = store::cells_dir(out);
    std::fs::create_dir_all(&cells_out).map_err(io_error(&cells_out))?;
    for dir in dirs {
        let other = store::read_index(dir)?;
        if other.experiment.name != index.experiment.name || other.cells != index.cells {
            return Err(ExperimentError::Collect(format!(
                "{} holds experiment '{}' with {} cells, {} holds '{}' with {} cells: not \
                 shards of one experiment",
                dir.display(),
                other.experiment.name,
                other.cells.len(),
                first.display(),
                index.experiment.name,
                index.cells.len()
            )));
        }
        let cells = store::cells_dir(dir);
        for id in &index.cells {
            let from = cells.join(id);
            let to = cells_out.join(id);
            if !from.join("stats.json").is_file() || to.join("stats.json").is_file() || from == to {
                continue;
            }
            copy_flat(&from, &cells_out, id)?;
        }
    }
    store::write_index(out, &index)?;
    let missing: Vec<&String> = index
        .cells
        .iter()
        .filter(|id| !cells_out.join(id).join("stats.json").is_file())
        .collect();
    if !missing.is_empty() {
        return Err(ExperimentError::Collect(format!(
            "{} of {} cells are in none of the folders (run their shards, or run the \
             experiment into {} to finish them): {}",
            missing.len(),
            index.cells.len(),
            out.display(),
            missing
                .iter()
                .take(10)
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(index)
}

/// Copies the files of cell folder `from` into `cells/<id>` through a `.partial` folder.
fn copy_flat(from: &Path, cells: &Path, id: &str) -> Result<(), ExperimentError> {
    let partial = cells.join(format!("{id}.partial"));
    if partial.exists() {
        std::fs::remove_dir_all(&partial).map_err(io_error(&partial))?;
    }
    std::fs::create_dir_all(&partial).map_err(io_error(&partial))?;
    for entry in std::fs::read_dir(from).map_err(io_error(from))? {
        let entry = entry.map_err(io_error(from))?;
        let path = entry.path();
        if path.is_file() {
            let to = partial.join(entry.file_name());
            std::fs::copy(&path, &to).map_err(io_error(&to))?;
        }
    }
    let done = cells.join(id);
    if done.exists() {
        std::fs::remove_dir_all(&done).map_err(io_error(&done))?;
    }
    std::fs::rename(&partial, &done).map_err(io_error(&done))
}
