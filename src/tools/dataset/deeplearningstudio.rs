//! DeepLearningStudio's dataset layout, as its Gazebo recordings come: a folder of numbered
//! whole camera frames (`0.png`, `1.png`, …) and `data.csv` with `v` and `w` columns.
//!
//! DeepLearningStudio pairs the n-th row of `data.csv` with the n-th image in numeric order
//! of the file names. Here the pairing is the same, but a folder where that pairing would be
//! wrong is refused: a gap in the numbering, or a row count that differs from the image
//! count, names the missing image or the surplus rather than shifting every label by one.

use std::path::{Path, PathBuf};

use super::{number_cell, open_labels, DatasetError, Sample};

/// The labels file of the layout.
pub const DATA_CSV: &str = "data.csv";

/// Reads `dir/data.csv` and pairs its rows with `dir`'s numbered PNG files.
pub fn read(dir: &Path) -> Result<Vec<Sample>, DatasetError> {
    let path = dir.join(DATA_CSV);
    let labels_err = |reason: String| DatasetError::Labels {
        path: path.clone(),
        reason,
    };
    let (mut reader, [cv, cw]) = open_labels(&path, ["v", "w"])?;
    let mut labels = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let line = row as u64 + 2;
        let record = record.map_err(|e| DatasetError::Row {
            path: path.clone(),
            line,
            reason: e.to_string(),
        })?;
        let v = number_cell(&record, cv, "v", &path, line)?;
        let w = number_cell(&record, cw, "w", &path, line)?;
        labels.push((v, w));
    }
    if labels.is_empty() {
        return Err(labels_err("no samples".into()));
    }
    let images = numbered_images(dir)?;
    let first = images.first().map_or(0, |(n, _)| *n);
    for (k, (n, _)) in images.iter().enumerate() {
        let expected = first + k as u64;
        if *n != expected && k < labels.len() {
            return Err(DatasetError::Row {
                path: path.clone(),
                line: k as u64 + 2,
                reason: format!(
                    "no image {expected}.png in {} for this row (the numbered images jump from \
                     {} to {n})",
                    dir.display(),
                    expected.saturating_sub(1)
                ),
            });
        }
    }
    if images.len() != labels.len() {
        let reason = if images.len() < labels.len() {
            format!(
                "{} rows but {} numbered images in {}: rows from line {} on have no image \
                 (the first missing is {}.png)",
                labels.len(),
                images.len(),
                dir.display(),
                images.len() + 2,
                first + images.len() as u64
            )
        } else {
            format!(
                "{} rows but {} numbered images in {}: {} has no label",
                labels.len(),
                images.len(),
                dir.display(),
                images[labels.len()].1.display()
            )
        };
        return Err(labels_err(reason));
    }
    Ok(images
        .into_iter()
        .zip(labels)
        .map(|((_, image), (v, w))| Sample { image, v, w })
        .collect())
}

/// `dir`'s `N.png` files (N a non-negative integer), in numeric order.
fn numbered_images(dir: &Path) -> Result<Vec<(u64, PathBuf)>, DatasetError> {
    let listing = std::fs::read_dir(dir).map_err(|e| DatasetError::Labels {
        path: dir.to_path_buf(),
        reason: format!("cannot list the folder: {e}"),
    })?;
    let mut images = Vec::new();
    for entry in listing {
        let entry = entry.map_err(|e| DatasetError::Labels {
            path: dir.to_path_buf(),
            reason: format!("cannot list the folder: {e}"),
        })?;
        let path = entry.path();
        let is_png = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("png"));
        let number = path
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.parse::<u64>().ok());
        if let (true, Some(n)) = (is_png, number) {
            images.push((n, path));
        }
    }
    images.sort();
    Ok(images)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folder(rows: &str, images: &[u32]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(DATA_CSV), rows).unwrap();
        for n in images {
            std::fs::write(dir.path().join(format!("{n}.png")), b"png").unwrap();
        }
        std::fs::write(dir.path().join("notes.png"), b"not numbered").unwrap();
        dir
    }

    #[test]
    fn rows_pair_with_images_in_numeric_order() {
        let dir = folder("v,w\n6.5,0.1\n7,-0.2\n8,0.3\n", &[10, 8, 9]);
        let s = read(dir.path()).unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].image, dir.path().join("8.png"));
        assert_eq!(s[2].image, dir.path().join("10.png"));
        assert_eq!((s[1].v, s[1].w), (7.0, -0.2));
    }

    #[test]
    fn gaps_counts_and_bad_cells_name_file_and_row() {
        let err = |rows: &str, images: &[u32]| read(folder(rows, images).path()).unwrap_err();
        let e = err("v,w\n1,0\n2,0\n3,0\n", &[0, 1, 3]).to_string();
        assert!(e.contains("line 4") && e.contains("no image 2.png"), "{e}");
        let e = err("v,w\n1,0\n2,0\n3,0\n", &[0, 1]).to_string();
        assert!(e.contains("3 rows but 2") && e.contains("2.png"), "{e}");
        let e = err("v,w\n1,0\n", &[0, 1]).to_string();
        assert!(e.contains("1.png has no label"), "{e}");
        let e = err("v,w\n1,0\nfast,0\n", &[0, 1]).to_string();
        assert!(e.contains("line 3") && e.contains("'fast'"), "{e}");
        let e = err("v,w\n", &[]).to_string();
        assert!(e.contains("data.csv") && e.contains("no samples"), "{e}");
        let e = err("v\n1\n", &[0]).to_string();
        assert!(e.contains("no 'w' column"), "{e}");
    }
}
