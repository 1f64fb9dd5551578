//! A failed resume leaves the run directory byte for byte as it was (issue 24, item 4): with
//! `checkpoints/` replaced by a file, the last checkpoint corrupt or removed, `--resume` is one
//! error line and metrics.jsonl keeps every record.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::common::{run_bin, tempdir, text};

/// Every file below `dir` (and every folder, as an empty entry) with its bytes.
pub(crate) fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Option<Vec<u8>>> {
    let mut files = BTreeMap::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.insert(path.clone(), None);
            files.extend(snapshot(&path));
        } else {
            files.insert(path.clone(), Some(std::fs::read(&path).unwrap()));
        }
    }
    files
}

/// Copies the run folder `from`, subfolders too, to `to`.
pub(crate) fn copy(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy(&path, &target);
        } else {
            std::fs::copy(&path, &target).unwrap();
        }
    }
}

/// Asserts that `train --resume run` fails with exit 1 and one `error:` line naming `needle`,
/// and leaves every byte of `run` as it was.
pub(crate) fn assert_resume_refused(run: &Path, needle: &str) {
    let before = snapshot(run);
    assert!(before.len() > 2);
    let out = run_bin(&["train", "--resume", run.to_str().unwrap()]);
    let context = format!("{}: {}", run.display(), text(&out));
    assert_eq!(out.status.code(), Some(1), "{context}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{context}");
    assert!(
        stderr.starts_with("error:") && stderr.contains(needle),
        "not '{needle}': {context}"
    );
    assert!(
        snapshot(run) == before,
        "{context}: the run directory changed"
    );
}

/// A way to break a copy of the run.
type Damage = fn(&Path);

#[test]
fn a_failed_resume_changes_nothing() {
    let dir = tempdir();
    let base = dir.path().join("base");
    let out = run_bin(&[
        "train",
        "--epochs",
        "3",
        "--device",
        "cpu",
        "--out",
        base.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let breaks: [(&str, Damage); 3] = [
        ("checkpoints", |run| {
            std::fs::remove_dir_all(run.join("checkpoints")).unwrap();
            std::fs::write(run.join("checkpoints"), b"not a folder").unwrap();
        }),
        ("last.safetensors", |run| {
            std::fs::write(run.join("checkpoints/last.safetensors"), b"garbage").unwrap();
        }),
        ("last.safetensors", |run| {
            std::fs::remove_file(run.join("checkpoints/last.safetensors")).unwrap();
        }),
    ];
    for (i, (needle, damage)) in breaks.iter().enumerate() {
        let run = dir.path().join(format!("run{i}"));
        copy(&base, &run);
        damage(&run);
        assert_resume_refused(&run, needle);
    }
}
