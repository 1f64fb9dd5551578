//! `--early-stopping` and `--checkpoint` refused in one line before any file is written: a
//! monitor with no eval split to read, and every bad spelling (the callbacks: `callbacks.rs`).
use std::path::Path;

use tch_harness::data::{read_tensors, write_tensors};

use crate::callbacks::{BEST, STOP};
use crate::common::{assert_clean_error, run_bin, tempdir, text};
use crate::own_fixture::{fixture, path};

/// A monitor with nothing to read: an eval metric without an eval split, before any file.
#[test]
fn an_eval_monitor_without_eval_data_is_an_error() {
    let dir = tempdir();
    let train_only = dir.path().join("train_only.safetensors");
    let tensors: Vec<_> = read_tensors(Path::new(&fixture().data("mse")))
        .unwrap()
        .into_iter()
        .filter(|(name, _)| !name.starts_with("eval_"))
        .collect();
    write_tensors(&train_only, &tensors, None).unwrap();
    let run = dir.path().join("run");
    let (model, data) = (fixture().model("mse"), path(&train_only));
    let base = [
        "train",
        "--model",
        &model,
        "--data",
        &data,
        "--loss",
        "mse",
        "--out",
        &path(&run),
    ];
    for (flag, spec) in [("--early-stopping", STOP), ("--checkpoint", BEST)] {
        let out = run_bin(&[&base[..], &[flag, spec]].concat());
        assert_clean_error(&out, "needs an eval split, and this experiment has none");
        assert!(!run.exists(), "{flag}: a run directory was made");
    }
}

/// Bad spellings: one line naming the flag and the problem, exit 1, no run directory.
#[test]
fn bad_spellings_are_one_line_errors() {
    let cases = [
        (
            "--early-stopping",
            "EarlyStopping(patience=2)",
            "missing keyword monitor",
        ),
        (
            "--early-stopping",
            "EarlyStopping(monitor='val_loss')",
            "unknown monitor 'val_loss'",
        ),
        (
            "--early-stopping",
            "EarlyStopping(monitor='eval_loss', mode='up')",
            "mode must be 'min' or 'max'",
        ),
        (
            "--early-stopping",
            "EarlyStopping(monitor='eval_loss', patience=-1)",
            "patience must be",
        ),
        (
            "--early-stopping",
            "EarlyStopping(monitor='eval_loss', wait=3)",
            "unknown keyword 'wait'",
        ),
        (
            "--early-stopping",
            "ModelCheckpoint(monitor='eval_loss')",
            "expected EarlyStopping",
        ),
        (
            "--early-stopping",
            "EarlyStopping(monitor='eval_loss'",
            "--early-stopping",
        ),
        (
            "--early-stopping",
            "EarlyStopping(monitor='eval_loss', min_delta=nan)",
            "--early-stopping",
        ),
        (
            "--checkpoint",
            "ModelCheckpoint(monitor='eval_loss', save_top_k=-2)",
            "save_top_k must be >= -1",
        ),
        (
            "--checkpoint",
            "ModelCheckpoint(save_top_k=3)",
            "needs a monitor",
        ),
        (
            "--checkpoint",
            "ModelCheckpoint(monitor='eval_loss', filename='a/{epoch}')",
            "without folders",
        ),
        (
            "--checkpoint",
            "ModelCheckpoint(monitor='eval_loss', filename='{epoch:x}')",
            "unsupported format",
        ),
        (
            "--checkpoint",
            "ModelCheckpoint(monitor='eval_loss', save_last=False)",
            "always keeps",
        ),
        (
            "--checkpoint",
            "ModelCheckpoint(monitor='accuracy')",
            "unknown monitor 'accuracy'",
        ),
    ];
    let dir = tempdir();
    let run = dir.path().join("run");
    for (flag, spec, needle) in cases {
        let out = run_bin(&["train", "--epochs", "1", "--out", &path(&run), flag, spec]);
        assert_clean_error(&out, needle);
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(flag),
            "{flag} {spec}: {}",
            text(&out)
        );
        assert!(!run.exists(), "{flag} {spec}: a run directory was made");
    }
}
