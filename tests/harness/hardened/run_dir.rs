//! Run directories: a finished run to damage, copies of it, and byte-for-byte snapshots.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::common::{run_bin, text};

/// Every file below `dir` and its bytes.
pub(super) fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in walk(dir) {
        files.insert(entry.clone(), std::fs::read(&entry).unwrap());
    }
    files
}

/// Every file below `dir`, in subfolders too.
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// A finished run of `experiment` (2 epochs) to copy and damage.
pub(super) fn finished_run(dir: &Path, experiment: &str) -> PathBuf {
    let run = dir.join(format!("base-{experiment}"));
    let out = run_bin(&[
        "train",
        "--experiment",
        experiment,
        "--epochs",
        "2",
        "--device",
        "cpu",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    run
}

/// Copies the run directory `from` (its files and `checkpoints/`) to `to`.
pub(super) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.join("checkpoints")).unwrap();
    for file in walk(from) {
        let rel = file.strip_prefix(from).unwrap();
        std::fs::copy(&file, to.join(rel)).unwrap();
    }
}
