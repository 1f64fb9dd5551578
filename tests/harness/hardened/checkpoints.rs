//! `--resume` of a built-in experiment's run whose last checkpoint was damaged or replaced.
use std::path::Path;

use tch_harness::run::{checkpoint_path, LAST};

use super::corrupt::corruptions;
use super::run_dir::copy_dir;
use super::runner::{resume_case, Case};

/// Copies of `base` whose last checkpoint is damaged, one of `other` (another experiment), or a
/// plain state_dict.
pub(super) fn checkpoint_cases(dir: &Path, base: &Path, other: &Path) -> Vec<Case> {
    let valid = std::fs::read(checkpoint_path(base, LAST)).unwrap();
    let mut cases = Vec::new();
    let mut damaged = |name: String, bytes: Vec<u8>, needle: &'static str| {
        let run = dir.join(format!("ckpt-{name}"));
        copy_dir(base, &run);
        std::fs::write(checkpoint_path(&run, LAST), bytes).unwrap();
        cases.push(resume_case(format!("checkpoint {name}"), run, needle));
    };
    for (name, bytes) in corruptions(&valid, 18, 2) {
        damaged(name, bytes, "last.safetensors");
    }
    // A checkpoint of another experiment, and a model state_dict that is not a checkpoint.
    damaged(
        "other-experiment".into(),
        std::fs::read(checkpoint_path(other, LAST)).unwrap(),
        "trained with experiment = \"breast-cancer\"",
    );
    damaged(
        "plain-state-dict".into(),
        std::fs::read(base.join("model.safetensors")).unwrap(),
        "not a tch-harness checkpoint",
    );
    cases
}
