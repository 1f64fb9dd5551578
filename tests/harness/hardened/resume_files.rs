//! `--resume` of a TorchScript run whose model or data file changed after it started.
use std::path::{Path, PathBuf};

use tch_harness::data::{read_tensors, write_tensors, NamedTensors};

use super::corrupt::{header_corruptions, random_files, truncations, Lcg};
use super::own_cases::{Cases, Task};
use super::run_dir::copy_dir;
use super::runner::resume_case;
use super::tensor_edits::{base, get, set_in_sample, with, without};
use crate::common::{run_bin, text};
use crate::own_fixture::path;

/// A finished TorchScript run (2 epochs, checkpoints) on copies of the fixture's mse files in
/// `<dir>/resume-base/`.
pub(super) fn torchscript_run(dir: &Path) -> (PathBuf, PathBuf) {
    let (model, data, _) = base("mse");
    let files = dir.join("resume-base");
    std::fs::create_dir_all(&files).unwrap();
    std::fs::copy(&model, files.join("model.pt")).unwrap();
    std::fs::copy(&data, files.join("data.safetensors")).unwrap();
    let run = dir.join("resume-base-run");
    let (model, data) = (
        path(&files.join("model.pt")),
        path(&files.join("data.safetensors")),
    );
    let settings = ["--epochs", "2", "--batch-size", "32", "--out", &path(&run)];
    let task = Task::new(&model, &data, "mse");
    let out = run_bin(&[&["train"][..], &task.args(), &settings].concat());
    assert!(out.status.success(), "{}", text(&out));
    (files, run)
}

/// A copy of the base run whose config.json names its own copies of the model and data files,
/// `<dir>/resume-<name>/{model.pt, data.safetensors, run/}`; returns the folder and the run.
pub(super) fn resume_copy(
    dir: &Path,
    files: &Path,
    base_run: &Path,
    name: &str,
) -> (PathBuf, PathBuf) {
    let folder = dir.join(format!("resume-{name}"));
    std::fs::create_dir_all(&folder).unwrap();
    for file in ["model.pt", "data.safetensors"] {
        std::fs::copy(files.join(file), folder.join(file)).unwrap();
    }
    let run = folder.join("run");
    copy_dir(base_run, &run);
    let config = run.join("config.json");
    let text = std::fs::read_to_string(&config).unwrap();
    let moved = text.replace(&path(files), &path(&folder));
    assert_ne!(text, moved, "config.json does not name {}", files.display());
    std::fs::write(&config, moved).unwrap();
    (folder, run)
}

/// Resuming a TorchScript run whose model or data file was deleted, damaged or replaced after
/// it started: a clean error, and the run directory unchanged.
pub(super) fn resume_cases(cases: &mut Cases, odd: &Path) {
    let dir = cases.dir.clone();
    let (files, base_run) = torchscript_run(&dir);
    // The copies resume as they are (the run is complete: nothing to do, nothing written).
    let (_, control) = resume_copy(&dir, &files, &base_run, "control");
    let out = run_bin(&["train", "--resume", &path(&control)]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("the run is already complete"),
        "{}",
        text(&out)
    );
    let model = std::fs::read(files.join("model.pt")).unwrap();
    let data = std::fs::read(files.join("data.safetensors")).unwrap();
    let data_tensors = read_tensors(&files.join("data.safetensors")).unwrap();
    let fewer: NamedTensors = data_tensors
        .iter()
        .map(|(n, t)| {
            let t = if n == "inputs" || n == "targets" {
                t.narrow(0, 0, 150)
            } else {
                t.shallow_clone()
            };
            (n.clone(), t)
        })
        .collect();
    let no_eval = without(&without(&data_tensors, "eval_inputs"), "eval_targets");
    let nan = with(
        &data_tensors,
        "inputs",
        set_in_sample(&get(&data_tensors, "inputs"), 100, f64::NAN),
    );
    enum Change {
        Delete,
        Bytes(Vec<u8>),
        Tensors(NamedTensors),
        Folder,
    }
    let mut changes: Vec<(String, &str, Change, String)> = vec![
        (
            "model-deleted".into(),
            "model.pt",
            Change::Delete,
            "model.pt: No such file".into(),
        ),
        (
            "model-folder".into(),
            "model.pt",
            Change::Folder,
            "model.pt: is a directory".into(),
        ),
        (
            "model-other-architecture".into(),
            "model.pt",
            Change::Bytes(std::fs::read(odd.join("hidden-8.pt")).unwrap()),
            "last.safetensors: state_dict does not fit the model: shape/dtype mismatch: fc1.bias \
             (file Float [16], model Float [8])"
                .into(),
        ),
        (
            "model-frozen".into(),
            "model.pt",
            Change::Bytes(std::fs::read(odd.join("frozen.pt")).unwrap()),
            "model.pt: the model's output does not depend on any trainable parameter".into(),
        ),
        (
            "model-batch-mean".into(),
            "model.pt",
            Change::Bytes(std::fs::read(odd.join("batch-mean.pt")).unwrap()),
            "it must return one row per sample".into(),
        ),
        (
            "data-deleted".into(),
            "data.safetensors",
            Change::Delete,
            "data.safetensors: No such file".into(),
        ),
        (
            "data-nan".into(),
            "data.safetensors",
            Change::Tensors(nan),
            "'inputs' [203, 5] holds 1 NaN/infinite value(s), the first (NaN) in sample 100".into(),
        ),
        (
            "data-fewer-samples".into(),
            "data.safetensors",
            Change::Tensors(fewer),
            "data.safetensors now holds 150 training and 61 held-out samples but the run in".into(),
        ),
        (
            "data-no-eval-split".into(),
            "data.safetensors",
            Change::Tensors(no_eval),
            "now holds 203 training samples and no held-out split but the run in".into(),
        ),
    ];
    for (name, bytes) in truncations(&model, 4) {
        changes.push((
            format!("model-{name}"),
            "model.pt",
            Change::Bytes(bytes),
            "model.pt: not a TorchScript module saved by torch.jit.save".into(),
        ));
    }
    let mut rng = Lcg::new(9);
    let mut damaged = truncations(&data, 3);
    damaged.extend(header_corruptions(&mut rng, &data, 1));
    damaged.extend(random_files(&mut rng, 10).into_iter().skip(9));
    for (name, bytes) in damaged {
        changes.push((
            format!("data-{name}"),
            "data.safetensors",
            Change::Bytes(bytes),
            "data.safetensors: not a valid safetensors file".into(),
        ));
    }
    for (name, file, change, needle) in changes {
        let (folder, run) = resume_copy(&dir, &files, &base_run, &name);
        let target = folder.join(file);
        match change {
            Change::Delete => std::fs::remove_file(&target).unwrap(),
            Change::Bytes(bytes) => std::fs::write(&target, bytes).unwrap(),
            Change::Tensors(t) => write_tensors(&target, &t, None).unwrap(),
            Change::Folder => {
                std::fs::remove_file(&target).unwrap();
                std::fs::create_dir(&target).unwrap();
            }
        }
        cases
            .list
            .push(resume_case(format!("--resume {name}"), run, needle));
    }
}
