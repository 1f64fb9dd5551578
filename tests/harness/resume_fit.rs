//! `--resume` refuses, in one line and before it writes anything, a checkpoint that does not fit
//! its run (issue 24, finding 9): a config.json edited since the checkpoint (only `epochs` and
//! `checkpoint_every` may change), optimizer state another optimizer left, weights of other
//! shapes; and a run killed before its first checkpoint, whose metrics.jsonl must survive
//! (finding 4).
use std::path::Path;

use serde_json::{json, Value};
use tch_harness::run::{checkpoint_path, Checkpoint, LAST};

use crate::common::{read_jsonl, run_bin, tempdir, text};
use crate::reliability::training_under_way;
use crate::resume_untouched::{assert_resume_refused, copy};

/// Trains a 2-epoch linear-regression run into `run` with `flags`.
fn train(run: &Path, flags: &[&str]) {
    let base = [
        "train",
        "--experiment",
        "linear-regression",
        "--epochs",
        "2",
        "--threads",
        "1",
        "--device",
        "cpu",
        "--out",
        run.to_str().unwrap(),
    ];
    let out = run_bin(&[&base[..], flags].concat());
    assert!(out.status.success(), "{}", text(&out));
}

/// Edits `run`'s config.json's `config` object in place.
pub(crate) fn edit_config(run: &Path, edit: impl FnOnce(&mut Value)) {
    let file = run.join("config.json");
    let mut saved: Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    edit(&mut saved["config"]);
    std::fs::write(&file, serde_json::to_string_pretty(&saved).unwrap()).unwrap();
}

/// Rewrites `run`'s last checkpoint after `edit`.
pub(crate) fn edit_checkpoint(run: &Path, edit: impl FnOnce(&mut Checkpoint)) {
    let file = checkpoint_path(run, LAST);
    let mut checkpoint = Checkpoint::load(&file).unwrap();
    edit(&mut checkpoint);
    std::fs::write(&file, checkpoint.to_bytes(&file).unwrap()).unwrap();
}

/// A way to change a copy of the run, and the words its refusal must contain.
type Change = (&'static str, fn(&Path));

#[test]
fn a_checkpoint_that_does_not_fit_the_configuration_is_refused() {
    let dir = tempdir();
    let sgd = dir.path().join("sgd");
    train(&sgd, &[]);
    let adam = dir.path().join("adam");
    train(&adam, &["--optimizer", "adam"]);
    let changes: [Change; 8] = [
        ("trained with optimizer.kind = \"sgd\"", |run| {
            edit_config(run, |c| {
                c["optimizer"] = json!({"kind": "adam", "lr": 0.001})
            })
        }),
        (
            "optimizer.momentum = 0.0, but config.json now says 0.9",
            |run| edit_config(run, |c| c["optimizer"]["momentum"] = json!(0.9)),
        ),
        ("optimizer.lr", |run| {
            edit_config(run, |c| c["optimizer"]["lr"] = json!(0.5))
        }),
        ("batch_size", |run| {
            edit_config(run, |c| c["batch_size"] = json!(7))
        }),
        ("seed", |run| edit_config(run, |c| c["seed"] = json!(1))),
        ("accumulate", |run| {
            edit_config(run, |c| c["accumulate"] = json!(2))
        }),
        // Weights of another shape than the model's.
        ("shape/dtype mismatch: fc1.bias", |run| {
            edit_checkpoint(run, |c| {
                c.model[0].1 = c.model[0].1.flatten(0, -1).repeat([2])
            })
        }),
        // A checkpoint from before the configuration was recorded in it: its Adam state does
        // not fit the run's SGD.
        (
            "optimizer state 'fc1.bias.exp_avg' (and 5 more) does not fit",
            |run| {
                let adam = run.parent().unwrap().join("adam");
                std::fs::copy(checkpoint_path(&adam, LAST), checkpoint_path(run, LAST)).unwrap();
                edit_checkpoint(run, |c| c.config = None)
            },
        ),
    ];
    assert!(checkpoint_path(&adam, LAST).is_file());
    for (i, (needle, change)) in changes.iter().enumerate() {
        let run = dir.path().join(format!("run{i}"));
        copy(&sgd, &run);
        change(&run);
        assert_resume_refused(&run, needle);
    }
}

/// More epochs (and another checkpoint interval) are the edits a resume takes: the run goes on
/// to the new last epoch, its first epochs untouched.
#[test]
fn epochs_and_checkpoint_every_may_change() {
    let dir = tempdir();
    let run = dir.path().join("run");
    train(&run, &[]);
    let before = read_jsonl(&run.join("metrics.jsonl"));
    edit_config(&run, |c| {
        c["epochs"] = json!(4);
        c["checkpoint_every"] = json!(2);
    });
    let out = run_bin(&["train", "--resume", run.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let after = read_jsonl(&run.join("metrics.jsonl"));
    assert_eq!(after.len(), 4);
    assert_eq!(after[..2], before[..]);
}

/// A run SIGKILLed after some epochs but before its first checkpoint (`--checkpoint-every`
/// larger than the run): `--resume` says there is nothing to resume from and keeps every file,
/// metrics.jsonl's epochs included; it never starts over on top of them.
#[test]
fn a_run_killed_before_its_first_checkpoint_is_not_resumed() {
    let dir = tempdir();
    let run = dir.path().join("run");
    let args = [
        "--experiment",
        "digits-mlp",
        "--epochs",
        "1000000",
        "--checkpoint-every",
        "1000000",
        "--threads",
        "1",
        "--device",
        "cpu",
    ];
    let mut trainer = training_under_way(&run, &args, "metrics.jsonl");
    trainer.kill().expect("SIGKILL");
    trainer.wait().expect("reaped");
    assert!(!checkpoint_path(&run, LAST).exists());
    assert!(!read_jsonl(&run.join("metrics.jsonl")).is_empty());
    assert_resume_refused(&run, "no checkpoint to resume from");
    // An edit a resume takes changes nothing here.
    edit_config(&run, |c| c["epochs"] = json!(2));
    assert_resume_refused(&run, "no checkpoint to resume from");
}
