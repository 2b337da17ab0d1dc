//! Labelled frame datasets, in two layouts [`read_samples`] tells apart:
//!
//! - this project's: a folder with `labels.csv` and the images it names. `labels.csv` has a
//!   header; the columns `image` (path relative to the folder), `v` (m/s) and `w` (rad/s) are
//!   required, any others (circuit, direction, position, …) are carried along and ignored
//!   here. [`collect`] writes such folders from the simulator.
//! - DeepLearningStudio's: numbered whole frames and `data.csv` ([`deeplearningstudio`]).
//!
//! Images are PNG files, either whole camera frames or frames already cut to the network's
//! input size by [`crate::inference::preprocess::Preprocessor::run_u8`].

mod collect;
pub mod deeplearningstudio;

pub use collect::{
    collect, AppearanceRange, CollectConfig, CollectError, CollectSummary, DriverSetup,
    Perturbation,
};

/// The columns [`collect`] writes, in order: the image, the expert's command (the label), and
/// where it was taken (circuit, `forward`/`reverse`, run number, simulated time, pose, signed
/// lateral offset from the line with left positive, whether the command sent to the car
/// was disturbed at the time, and the look it was drawn in: a row of `looks.csv`, empty
/// where looks are not drawn).
pub const LABEL_COLUMNS: [&str; 13] = [
    "image",
    "v",
    "w",
    "circuit",
    "direction",
    "run",
    "t",
    "x",
    "y",
    "yaw",
    "lateral_m",
    "perturbed",
    "look",
];

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::base::sensor::Frame;

/// Why a dataset could not be read.
#[derive(Debug, Error)]
pub enum DatasetError {
    /// `labels.csv` is missing or unreadable.
    #[error("cannot read dataset labels {path}: {reason}")]
    Labels {
        /// The labels file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// A row is malformed.
    #[error("{path} line {line}: {reason}")]
    Row {
        /// The labels file.
        path: PathBuf,
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// An image could not be read.
    #[error("cannot read dataset image {path}: {reason}")]
    Image {
        /// The image file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

/// One labelled image.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Image file.
    pub image: PathBuf,
    /// Linear velocity label, m/s.
    pub v: f64,
    /// Angular velocity label, rad/s.
    pub w: f64,
}

/// Reads the samples listed in `dir/labels.csv`.
pub fn read_labels(dir: &Path) -> Result<Vec<Sample>, DatasetError> {
    let path = dir.join("labels.csv");
    let labels_err = |reason: String| DatasetError::Labels {
        path: path.clone(),
        reason,
    };
    let (mut reader, [ci, cv, cw]) = open_labels(&path, ["image", "v", "w"])?;
    let mut samples = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let line = row as u64 + 2;
        let row_err = |reason: String| DatasetError::Row {
            path: path.clone(),
            line,
            reason,
        };
        let record = record.map_err(|e| row_err(e.to_string()))?;
        let image = record.get(ci).unwrap_or("").trim();
        if image.is_empty() {
            return Err(row_err("empty image path".into()));
        }
        let image = dir.join(image);
        if !image.is_file() {
            return Err(row_err(format!("no image {}", image.display())));
        }
        samples.push(Sample {
            image,
            v: number_cell(&record, cv, "v", &path, line)?,
            w: number_cell(&record, cw, "w", &path, line)?,
        });
    }
    if samples.is_empty() {
        return Err(labels_err("no samples".into()));
    }
    Ok(samples)
}

/// Reads a dataset folder in either layout: `labels.csv` (this project's) or `data.csv` with
/// numbered frames (DeepLearningStudio's).
pub fn read_samples(dir: &Path) -> Result<Vec<Sample>, DatasetError> {
    if !dir.join("labels.csv").exists() && dir.join(deeplearningstudio::DATA_CSV).exists() {
        return deeplearningstudio::read(dir);
    }
    if !dir.is_dir() {
        return Err(DatasetError::Labels {
            path: dir.to_path_buf(),
            reason: "not a folder".into(),
        });
    }
    if !dir.join("labels.csv").exists() {
        return Err(DatasetError::Labels {
            path: dir.to_path_buf(),
            reason: "neither labels.csv (pilotnet-brain dataset) nor data.csv with numbered \
                     PNG frames (DeepLearningStudio) in the folder"
                .into(),
        });
    }
    read_labels(dir)
}

/// Opens a labels CSV and finds the `required` columns by name.
fn open_labels<const N: usize>(
    path: &Path,
    required: [&str; N],
) -> Result<(csv::Reader<std::fs::File>, [usize; N]), DatasetError> {
    let labels_err = |reason: String| DatasetError::Labels {
        path: path.to_path_buf(),
        reason,
    };
    let mut reader = csv::Reader::from_path(path).map_err(|e| labels_err(e.to_string()))?;
    let headers = reader
        .headers()
        .map_err(|e| labels_err(e.to_string()))?
        .clone();
    let mut columns = [0; N];
    for (slot, name) in columns.iter_mut().zip(required) {
        *slot = headers
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| labels_err(format!("no '{name}' column (header: {headers:?})")))?;
    }
    Ok((reader, columns))
}

/// A finite number in column `c` of a labels row, or an error naming file, line and value.
fn number_cell(
    record: &csv::StringRecord,
    c: usize,
    name: &str,
    path: &Path,
    line: u64,
) -> Result<f64, DatasetError> {
    let text = record.get(c).unwrap_or("").trim();
    text.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite())
        .ok_or_else(|| DatasetError::Row {
            path: path.to_path_buf(),
            line,
            reason: format!("{name} '{text}' is not a finite number"),
        })
}

/// Reads a PNG (any colour type) as an `rgb8` frame.
pub fn read_image(path: &Path) -> Result<Frame, DatasetError> {
    let image = image::open(path).map_err(|e| DatasetError::Image {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    Ok(Frame::from_rgb_image(image.to_rgb8()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_parse_and_errors_name_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let labels = dir.path().join("labels.csv");
        std::fs::write(
            &labels,
            "image,circuit,v,w\na.png,x,6.5,-0.2\nb.png,y,7,0.1\n",
        )
        .unwrap();
        for name in ["a.png", "b.png"] {
            std::fs::write(dir.path().join(name), b"png").unwrap();
        }
        let s = read_labels(dir.path()).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!((s[1].v, s[1].w), (7.0, 0.1));
        assert_eq!(s[0].image, dir.path().join("a.png"));
        std::fs::write(&labels, "image,v,w\na.png,6.5,-0.2\nb.png,fast,0.1\n").unwrap();
        let err = read_labels(dir.path()).unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains("'fast'"), "{err}");
        std::fs::write(&labels, "image,v\na.png,6.5\n").unwrap();
        let err = read_labels(dir.path()).unwrap_err().to_string();
        assert!(err.contains("no 'w' column"), "{err}");
        let err = read_labels(&dir.path().join("nowhere"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("labels.csv"), "{err}");
        std::fs::write(&labels, "image,v,w\na.png,6.5,-0.2\nc.png,7,0.1\n").unwrap();
        let err = read_samples(dir.path()).unwrap_err().to_string();
        assert!(err.contains("line 3") && err.contains("no image"), "{err}");
        std::fs::remove_file(&labels).unwrap();
        let err = read_samples(dir.path()).unwrap_err().to_string();
        assert!(err.contains("neither labels.csv"), "{err}");
    }
}
