//! One malformed case and the runner that feeds the cases to the real binary, two at a time, and
//! checks each error and that the run directory it guards did not change.
use std::path::PathBuf;

use super::run_dir::snapshot;
use crate::common::{assert_clean_error, run_bin, text};

/// One malformed input: the arguments and the words the error must contain.
pub(super) struct Case {
    pub(super) name: String,
    pub(super) args: Vec<String>,
    pub(super) needle: String,
    /// A run directory whose files must not change.
    pub(super) guard: Option<PathBuf>,
    /// A path that must not exist afterwards (the `--out` of a run that must fail before it
    /// makes its run directory).
    pub(super) absent: Option<PathBuf>,
}

pub(super) fn case(name: impl Into<String>, args: &[&str], needle: impl Into<String>) -> Case {
    Case {
        name: name.into(),
        args: args.iter().map(|s| s.to_string()).collect(),
        needle: needle.into(),
        guard: None,
        absent: None,
    }
}

/// `train --resume <run>`, which must fail and leave `run` as it was.
pub(super) fn resume_case(
    name: impl Into<String>,
    run: PathBuf,
    needle: impl Into<String>,
) -> Case {
    let mut c = case(name, &["train", "--resume", run.to_str().unwrap()], needle);
    c.guard = Some(run);
    c
}

/// Runs the cases two at a time (the machine has two cores).
pub(super) fn run_cases(cases: Vec<Case>) -> usize {
    let count = cases.len();
    let chunks: Vec<Vec<Case>> = {
        let mut it = cases.into_iter();
        let mut v = Vec::new();
        loop {
            let chunk: Vec<Case> = it.by_ref().take(2).collect();
            if chunk.is_empty() {
                break v;
            }
            v.push(chunk);
        }
    };
    for chunk in chunks {
        std::thread::scope(|s| {
            for c in &chunk {
                s.spawn(move || {
                    let before = c.guard.as_deref().map(snapshot);
                    let args: Vec<&str> = c.args.iter().map(String::as_str).collect();
                    let out = run_bin(&args);
                    let context = format!("case '{}'", c.name);
                    assert!(
                        !out.status.success(),
                        "{context}: succeeded: {}",
                        text(&out)
                    );
                    std::panic::catch_unwind(|| assert_clean_error(&out, &c.needle))
                        .unwrap_or_else(|_| panic!("{context} failed"));
                    if let (Some(dir), Some(before)) = (&c.guard, before) {
                        assert!(
                            snapshot(dir) == before,
                            "{context}: the run directory changed"
                        );
                    }
                    if let Some(path) = &c.absent {
                        assert!(!path.exists(), "{context}: {} was made", path.display());
                    }
                });
            }
        });
    }
    count
}
