//! Experiments: the study's comparisons from one YAML file — models × circuits × directions ×
//! conditions × repetitions driven in the embedded simulator, in parallel and resumably,
//! sliced into shards for other machines and merged back, and summed up in tables, figures
//! and a page that shows them.
//!
//! [`spec`] reads the file, [`matrix`] expands it into cells and shards, [`store`] keeps each
//! cell's results on disk, [`runner`] drives the cells, [`aggregate`] makes the tables,
//! [`figures`] the plots and [`page`] the `index.html` over them; [`report`] writes all three.

pub mod aggregate;
pub mod figures;
pub mod matrix;
pub mod page;
pub mod report;
pub mod runner;
pub mod spec;
pub mod store;

use std::path::PathBuf;

use thiserror::Error;

pub use matrix::{Cell, Shard};
pub use runner::{run, RunOptions, RunSummary};
pub use spec::Experiment;

/// Why an experiment could not be read, run or reported.
#[derive(Debug, Error)]
pub enum ExperimentError {
    /// The experiment file is wrong.
    #[error("{}{}: {message}", path.display(), line.map(|l| format!(":{l}")).unwrap_or_default())]
    Spec {
        /// The file.
        path: PathBuf,
        /// The line (1-based), where known.
        line: Option<usize>,
        /// What is wrong.
        message: String,
    },
    /// A file or folder could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// A result file is not what this program writes.
    #[error("{}: {message}", path.display())]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A model, circuit or world could not be loaded before the runs.
    #[error("{what}: {message}")]
    Setup {
        /// The model or circuit, as the experiment names it.
        what: String,
        /// The error.
        message: String,
    },
    /// Cells failed; the others are kept.
    #[error("{} of {total} cells failed (the rest are kept; run again to retry):\n{}", failed.len(), failed.join("\n"))]
    CellsFailed {
        /// Each failed cell and its error.
        failed: Vec<String>,
        /// Cells attempted.
        total: usize,
    },
    /// Folders to collect do not hold the same experiment, or together miss cells.
    #[error("{0}")]
    Collect(String),
    /// A figure could not be drawn.
    #[error("figure {}: {message}", path.display())]
    Figure {
        /// The figure file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
}

/// An I/O error on `path`.
pub(crate) fn io_error(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> ExperimentError {
    let path = path.to_path_buf();
    move |source| ExperimentError::Io { path, source }
}
