//! Output folders (`--out`, `--save-frames`, the node's `stats_dir`), checked before any work
//! starts: created if needed and proven writable by writing and removing a file in them, so a
//! run that could not keep its results is refused before it drives rather than after.

use std::io::Write;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// An output folder that cannot be used.
#[derive(Debug, Error)]
#[error("{setting}: cannot write to {path}: {source}")]
pub struct OutDirError {
    /// The setting that named it, as its adapter spells it (`--out`, `stats_dir`).
    pub setting: String,
    /// The folder.
    pub path: PathBuf,
    /// Why not.
    pub source: std::io::Error,
}

/// Creates `dir` (and its parents) if needed and checks a file can be written in it.
pub fn ensure_writable(setting: &str, dir: &Path) -> Result<(), OutDirError> {
    let fail = |source| OutDirError {
        setting: setting.to_string(),
        path: dir.to_path_buf(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(fail)?;
    let probe = dir.join(format!(".pilotnet-write-check-{}", std::process::id()));
    let written = std::fs::File::create(&probe).and_then(|mut f| {
        // A byte, flushed to disk: a full disk refuses data, not always an empty file.
        f.write_all(b"\n")?;
        f.sync_all()
    });
    let removed = std::fs::remove_file(&probe);
    written.map_err(fail)?;
    removed.map_err(fail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_folder_is_made_and_left_empty() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("a/b");
        ensure_writable("--out", &dir).unwrap();
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    }

    #[test]
    fn a_folder_under_a_file_or_on_a_full_disk_is_refused_by_name() {
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("f");
        std::fs::write(&file, "x").unwrap();
        let e = ensure_writable("--out", &file.join("run")).unwrap_err();
        assert!(e.to_string().starts_with("--out: cannot write to "), "{e}");
        assert!(e.to_string().contains("/f/run"), "{e}");
        // /proc refuses new files whoever the user is (root passes permission bits).
        let e = ensure_writable("stats_dir", Path::new("/proc/self")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("stats_dir: cannot write to /proc/self"),
            "{e}"
        );
    }
}
