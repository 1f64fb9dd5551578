//! A finished SWA run extended with more epochs (`epochs` raised in config.json, then
//! `--resume`): its last epoch ran `update_bn` on the averaged model, which the uninterrupted
//! longer run does not do there. As in `torch.optim.swa_utils` (`use_buffers=False`, SWA's
//! default), the averaged model's buffers are copied from the model at its next
//! `update_parameters`, so the recomputed statistics leave no trace: every later epoch and both
//! weight files are the longer run's, to the bit. Only the extended epoch's own
//! `swa_eval_loss` differs — it was taken after `update_bn`, as the run's end then was.
use serde_json::{json, Value};

use crate::common::{read_jsonl, run_bin, tempdir, text};
use crate::own_fixture::path;
use crate::resume_fit::edit_config;

fn train(args: &[&str]) {
    let out = run_bin(args);
    assert!(out.status.success(), "{}", text(&out));
}

#[test]
fn a_finished_swa_run_extended_equals_the_longer_run() {
    let flags = [
        "--experiment",
        "digits-cnn",
        "--threads",
        "1",
        "--device",
        "cpu",
        "--swa",
        "SWA(swa_lr=0.02, swa_start=2, anneal_epochs=1)",
    ];
    let dir = tempdir();
    let (longer, extended) = (dir.path().join("longer"), dir.path().join("extended"));
    train(
        &[
            &["train", "--epochs", "5", "--out", &path(&longer)][..],
            &flags,
        ]
        .concat(),
    );
    train(
        &[
            &["train", "--epochs", "3", "--out", &path(&extended)][..],
            &flags,
        ]
        .concat(),
    );
    edit_config(&extended, |c| c["epochs"] = json!(5));
    train(&["train", "--resume", &path(&extended)]);

    let field = |run: &std::path::Path, key: &str| -> Vec<Value> {
        let records = read_jsonl(&run.join("metrics.jsonl"));
        records.iter().map(|r| r[key].clone()).collect()
    };
    for key in ["train_loss", "eval_loss", "eval_accuracy"] {
        assert_eq!(field(&extended, key), field(&longer, key), "{key}");
    }
    let (swa_extended, swa_longer) = (
        field(&extended, "swa_eval_loss"),
        field(&longer, "swa_eval_loss"),
    );
    assert_eq!(swa_extended.len(), 5);
    assert_eq!(swa_extended[..2], swa_longer[..2]);
    assert_ne!(
        swa_extended[2], swa_longer[2],
        "epoch 3 was evaluated after update_bn"
    );
    assert_eq!(swa_extended[3..], swa_longer[3..]);
    for file in ["model.safetensors", "model_swa.safetensors"] {
        let bytes = |run: &std::path::Path| std::fs::read(run.join(file)).unwrap();
        assert!(bytes(&extended) == bytes(&longer), "{file} differs");
    }
}
