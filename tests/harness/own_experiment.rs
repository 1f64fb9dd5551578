//! Bring your own experiment: a TorchScript model and safetensors data, made in PyTorch, evaluated
//! and trained by the binary, checked against PyTorch itself for every loss.
use serde_json::Value;

use crate::common::{read_jsonl, run_bin, run_python, tempdir, text};
use crate::own_fixture::{fixture, path, rel, BATCH, EPOCHS, LOSSES, LR, N, N_EVAL};

/// The tolerance against PyTorch (relative).
const TOL: f64 = 1e-6;

fn eval_json(args: &[&str]) -> Value {
    let out = run_bin(args);
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)))
}

/// `eval` is the sample-weighted mean over the whole split, i.e. PyTorch's one-shot
/// `criterion(model(inputs), targets)` in eval mode — not the mean of the 13 batch means. (It is
/// also, to the last bit, PyTorch's own seed-loop sum of batch mean × batch size over N.)
#[test]
fn eval_equals_pytorch_one_shot_mean_for_every_loss() {
    let fx = fixture();
    let mut report = Vec::new();
    for loss in LOSSES {
        let (model, data) = (fx.model(loss), fx.data(loss));
        let (mut worst, mut worst_seed): (f64, f64) = (0.0, 0.0);
        for (split, samples, batches) in [("train", N, 13), ("eval", N_EVAL, 4)] {
            let base = [
                "eval",
                "--model",
                &model,
                "--data",
                &data,
                "--loss",
                loss,
                "--batch-size",
                BATCH,
                "--threads",
                "1",
                "--json",
            ];
            let mut args = base.to_vec();
            if split == "eval" {
                args.extend(["--split", "eval"]);
            }
            let got = eval_json(&args);
            let value = got["loss"].as_f64().expect("loss");
            let one_shot = fx.number(&format!("/{loss}/{split}/one_shot"));
            let batch_means = fx.number(&format!("/{loss}/{split}/mean_of_batch_means"));
            let seed = fx.number(&format!("/{loss}/{split}/seed"));
            worst_seed = worst_seed.max(rel(value, seed));
            assert!(
                rel(value, seed) <= 1e-12,
                "{loss} {split}: {value} vs {seed}"
            );
            let r = rel(value, one_shot);
            worst = worst.max(r);
            assert!(
                r <= TOL,
                "{loss} {split}: eval {value} vs one-shot {one_shot} (rel {r:e})"
            );
            // The fixture is such that the wrong average is far outside the tolerance.
            assert!(
                rel(batch_means, one_shot) > 100.0 * TOL,
                "{loss} {split}: the fixture cannot tell the averages apart"
            );
            assert!(
                rel(value, batch_means) > 100.0 * TOL,
                "{loss} {split}: eval {value} is the mean of batch means {batch_means}"
            );
            assert_eq!(got["samples"], samples, "{loss} {split}");
            assert_eq!(got["batches"], batches, "{loss} {split}");
            assert_eq!(got["split"], split);
            match fx.reference.pointer(&format!("/{loss}/{split}/accuracy")) {
                Some(Value::Number(acc)) => {
                    let acc = acc.as_f64().unwrap();
                    let got_acc = got["accuracy"].as_f64().expect("accuracy");
                    assert!((got_acc - acc).abs() < 1e-12, "{loss} {split} accuracy");
                }
                _ => assert!(got.get("accuracy").is_none(), "{loss}: {got}"),
            }
        }
        report.push(format!(
            "{loss:>16}: eval worst rel diff {worst:.3e} (vs PyTorch's batch-weighted sum {worst_seed:.3e})"
        ));
    }
    println!("eval vs PyTorch one-shot mean:\n{}", report.join("\n"));
}

/// Checks each run's saved files in PyTorch: `model.safetensors` has the module's dotted
/// parameter names and PyTorch's trained weights; `model.pt` loads with `torch.jit.load`, holds the
/// same parameters bit for bit, is in eval mode, and batch norm's running statistics equal
/// PyTorch's (so the module really ran in train mode while training). Prints one JSON object.
const CHECK_FILES: &str = r#"
import json, os, sys
import torch
from safetensors.torch import load_file
fixture, runs = sys.argv[1], sys.argv[2]
result = {}
for loss in sys.argv[3:]:
    saved = load_file(os.path.join(runs, loss, "model.safetensors"))
    ref = load_file(os.path.join(fixture, loss, "reference.safetensors"))
    module = torch.jit.load(os.path.join(runs, loss, "model.pt"))
    names = sorted(n for n, _ in module.named_parameters())
    worst = max(((saved[n] - ref[n]).abs().max() / ref[n].abs().max()).item() for n in names)
    pt_vs_file = max((p - saved[n]).abs().max().item() for n, p in module.named_parameters())
    buffers = {n: b for n, b in module.named_buffers() if b.is_floating_point()}
    buffer_worst = max([((b - ref[n]).abs().max() / ref[n].abs().max()).item()
                        for n, b in buffers.items()] + [0.0])
    result[loss] = {"names": names, "saved_names": sorted(saved), "param_rel": worst,
                    "pt_vs_safetensors": pt_vs_file, "buffers": sorted(buffers),
                    "buffer_rel": buffer_worst, "training": module.training}
print(json.dumps(result))
"#;

/// `train --no-shuffle` with SGD gives, epoch by epoch, the train and eval losses of the seed's
/// PyTorch loop on the same model and data, for every loss; the run saves the trained module.
#[test]
fn train_no_shuffle_matches_pytorch_loop_for_every_loss() {
    let fx = fixture();
    let runs = tempdir();
    let mut report = Vec::new();
    for loss in LOSSES {
        let out = path(&runs.path().join(loss));
        let (model, data) = (fx.model(loss), fx.data(loss));
        let epochs = EPOCHS.to_string();
        let run = run_bin(&[
            "train",
            "--model",
            &model,
            "--data",
            &data,
            "--loss",
            loss,
            "--batch-size",
            BATCH,
            "--lr",
            LR,
            "--epochs",
            &epochs,
            "--optimizer",
            "sgd",
            "--no-shuffle",
            "--threads",
            "1",
            "--device",
            "cpu",
            "--out",
            &out,
        ]);
        assert!(run.status.success(), "{loss}: {}", text(&run));
        let records = read_jsonl(&runs.path().join(loss).join("metrics.jsonl"));
        assert_eq!(records.len(), EPOCHS, "{loss}");
        let (mut worst_train, mut worst_eval): (f64, f64) = (0.0, 0.0);
        for (e, record) in records.iter().enumerate() {
            let train = record["train_loss"].as_f64().unwrap();
            let eval = record["eval_loss"].as_f64().unwrap();
            let want_train = fx.number(&format!("/{loss}/train_loss/{e}"));
            let want_eval = fx.number(&format!("/{loss}/eval_loss/{e}"));
            let (rt, re) = (rel(train, want_train), rel(eval, want_eval));
            worst_train = worst_train.max(rt);
            worst_eval = worst_eval.max(re);
            assert!(
                rt <= TOL,
                "{loss} epoch {}: train {train} vs {want_train}",
                e + 1
            );
            assert!(
                re <= TOL,
                "{loss} epoch {}: eval {eval} vs {want_eval}",
                e + 1
            );
            assert_eq!(record["train_samples"], N);
            assert_eq!(record["batches"], 13);
        }
        let config: Value = serde_json::from_str(
            &std::fs::read_to_string(runs.path().join(loss).join("config.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(config["config"]["experiment"], "torchscript");
        assert_eq!(config["config"]["loss"], loss);
        assert_eq!(config["config"]["shuffle"], false);
        report.push(format!(
            "{loss:>16}: train worst rel diff {worst_train:.3e}, eval-after-epoch {worst_eval:.3e}"
        ));
    }
    let mut args = vec![path(&fx.dir), path(runs.path())];
    args.extend(LOSSES.iter().map(|l| l.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let files: Value = serde_json::from_str(run_python(CHECK_FILES, &args).trim()).unwrap();
    for loss in LOSSES {
        let f = &files[loss];
        assert_eq!(f["names"], f["saved_names"], "{loss}: state_dict names");
        assert!(f["names"][0].as_str().unwrap().contains('.'), "{loss}: {f}");
        let param_rel = f["param_rel"].as_f64().unwrap();
        assert!(param_rel <= 1e-5, "{loss}: trained weights differ: {f}");
        assert_eq!(f["pt_vs_safetensors"].as_f64(), Some(0.0), "{loss}: {f}");
        assert_eq!(
            f["training"], false,
            "{loss}: model.pt is saved in eval mode"
        );
        let buffer_rel = f["buffer_rel"].as_f64().unwrap();
        assert!(
            buffer_rel <= 1e-5,
            "{loss}: batch-norm statistics differ: {f}"
        );
        report.push(format!(
            "{loss:>16}: weights rel diff {param_rel:.3e}, buffers {buffer_rel:.3e}"
        ));
    }
    assert_eq!(
        files["cross-entropy"]["buffers"],
        serde_json::json!(["body.1.running_mean", "body.1.running_var"]),
    );
    println!("train vs PyTorch loop:\n{}", report.join("\n"));
}
