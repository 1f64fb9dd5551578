//! Losses whose mean is over elements, not samples: cross-entropy over token ids with padding
//! (`ignore_index`), class weights with label smoothing, multi-label `pos_weight`. Train (one
//! epoch at `--lr 0`, so the weights stay put) and `eval` give PyTorch's one-shot mean over the
//! whole split, not the seed's `× batch_size` formula; `compare` is bit-identical to
//! scripts/reference.py.
use serde_json::Value;
use tch_harness::data::read_tensors;

use crate::common::{read_jsonl, run_bin, tempdir, text};
use crate::compare::{assert_identical_run, compare_json};
use crate::loss_fixture::{loss_fixture, task, POS_WEIGHT, SMOOTHING, WEIGHTS};
use crate::own_fixture::{path, rel};

/// The tolerance against PyTorch's one-shot mean (relative).
const TOL: f64 = 1e-6;

fn eval_json(args: &[String], split: &str) -> Value {
    let mut args: Vec<&str> = args.iter().map(String::as_str).collect();
    args.splice(0..0, ["eval", "--threads", "1", "--json", "--split", split]);
    let out = run_bin(&args);
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)))
}

/// One epoch at `--lr 0`: its metrics line (train loss over the initial weights, then eval).
fn train_at_lr_0(args: &[String], extra: &[&str]) -> Value {
    let dir = tempdir();
    let out = dir.path().join("run");
    let mut all: Vec<&str> = vec!["train", "--epochs", "1", "--lr", "0", "--threads", "1"];
    all.extend(["--device", "cpu"]);
    all.extend(args.iter().map(String::as_str));
    all.extend(extra);
    let out_arg = path(&out);
    all.extend(["--out", &out_arg]);
    let run = run_bin(&all);
    assert!(run.status.success(), "{}", text(&run));
    read_jsonl(&out.join("metrics.jsonl")).remove(0)
}

/// Asserts `got` is PyTorch's one-shot mean of `case` on `split` within [`TOL`].
fn assert_one_shot(got: f64, case: &str, split: &str) {
    let one_shot = loss_fixture().number(&format!("/{case}/{split}/one_shot"));
    let r = rel(got, one_shot);
    assert!(
        r <= TOL,
        "{case} {split}: {got} vs PyTorch's one-shot {one_shot} (rel {r:e})"
    );
}

/// The issue's example: token ids `[203, 7]` (an `nn.Embedding` model with outputs `[N, C, T]`),
/// targets `[203, 7]` padded with -100, batch 16. PyTorch's numbers, from the fixture's generator
/// (`loss_fixture::GENERATE`):
///
/// ```python
/// model.eval()
/// one_shot = F.cross_entropy(model(inputs), targets).item()   # mean over the non-ignored targets
/// seed = sum(F.cross_entropy(model(inputs[i:i+16]), targets[i:i+16]).item() * len(inputs[i:i+16])
///            for i in range(0, 203, 16)) / 203                # the × batch_size formula
/// keep = targets != -100
/// count, accuracy = keep.sum().item(), ((out.argmax(1) == targets) & keep).sum().item() / keep.sum().item()
/// ```
#[test]
fn ignored_padding_gives_pytorchs_one_shot_mean_not_the_batch_size_formula() {
    let fx = loss_fixture();
    let args = task("tokens", "data.safetensors", "cross-entropy", &[]);
    let record = train_at_lr_0(&args, &[]);
    for split in ["train", "eval"] {
        let seed = fx.number(&format!("/plain/{split}/seed"));
        let one_shot = fx.number(&format!("/plain/{split}/one_shot"));
        let count = fx.number(&format!("/plain/{split}/count"));
        assert!(
            rel(seed, one_shot) > 100.0 * TOL,
            "{split}: the fixture cannot tell the two formulas apart"
        );
        let got = eval_json(&args, split);
        let loss = got["loss"].as_f64().unwrap();
        assert_one_shot(loss, "plain", split);
        assert!(
            rel(loss, seed) > 100.0 * TOL,
            "{split}: {loss} is the seed's {seed}"
        );
        assert_eq!(got["count"].as_f64(), Some(count), "{got}");
        let accuracy = fx.number(&format!("/plain/{split}/accuracy"));
        assert!(
            (got["accuracy"].as_f64().unwrap() - accuracy).abs() < 1e-12,
            "{got}"
        );

        let trained = record[format!("{split}_loss")].as_f64().unwrap();
        assert_one_shot(trained, "plain", split);
        assert!(
            rel(trained, seed) > 100.0 * TOL,
            "{split}: {trained} is {seed}"
        );
        assert_eq!(
            record[format!("{split}_count")].as_f64(),
            Some(count),
            "{record}"
        );
    }
    assert_eq!(record["train_samples"], 203);
    assert_eq!(record["batches"], 13);
}

/// Class weights with label smoothing (the mean divides by the targets' weight sum, smoothing
/// term included), `--ignore-index 0` (a class as padding: ignored in the loss and the
/// accuracy) and multi-label `pos_weight` (the mean stays over every element). PyTorch's numbers,
/// from the fixture's generator:
///
/// ```python
/// w = torch.tensor([0.5, 2.0, 1.0, 0.25, 1.5], dtype=torch.float64).float()
/// F.cross_entropy(out, targets, weight=w, label_smoothing=0.1).item()
/// weight_sum = w.double()[targets[targets != -100]].sum().item()
/// F.cross_entropy(out, targets_padded_with_0, ignore_index=0).item()
/// F.binary_cross_entropy_with_logits(out, labels, pos_weight=torch.tensor([2.0, 0.5, 1.0])).item()
/// ```
#[test]
fn weighted_smoothed_and_pos_weighted_means_are_pytorchs_one_shot_means() {
    let fx = loss_fixture();
    let weights = ["--class-weights", WEIGHTS, "--label-smoothing", SMOOTHING];
    let cases = [
        (
            "weighted",
            task("tokens", "data.safetensors", "cross-entropy", &weights),
        ),
        (
            "pad_zero",
            task(
                "tokens",
                "pad_zero.safetensors",
                "cross-entropy",
                &["--ignore-index", "0"],
            ),
        ),
        (
            "multilabel",
            task(
                "multilabel",
                "data.safetensors",
                "bce-with-logits",
                &["--pos-weight", POS_WEIGHT],
            ),
        ),
    ];
    for (case, args) in &cases {
        let record = train_at_lr_0(args, &[]);
        for split in ["train", "eval"] {
            let got = eval_json(args, split);
            assert_one_shot(got["loss"].as_f64().unwrap(), case, split);
            assert_one_shot(
                record[format!("{split}_loss")].as_f64().unwrap(),
                case,
                split,
            );
            let seed = fx.number(&format!("/{case}/{split}/seed"));
            let count = match *case {
                "weighted" => fx.reference.pointer(&format!("/{case}/{split}/weight_sum")),
                "pad_zero" => fx.reference.pointer(&format!("/{case}/{split}/count")),
                _ => None,
            };
            match count {
                Some(count) => {
                    assert_eq!(got["count"].as_f64(), count.as_f64(), "{case} {got}");
                    assert_eq!(record[format!("{split}_count")].as_f64(), count.as_f64());
                    let loss = got["loss"].as_f64().unwrap();
                    assert!(
                        rel(loss, seed) > 100.0 * TOL,
                        "{case} {split}: seed's formula"
                    );
                }
                // Every element counts the same: the count is the sample count, not recorded.
                None => {
                    assert!(got.get("count").is_none(), "{case} {got}");
                    assert!(record.get(format!("{split}_count")).is_none(), "{record}");
                }
            }
            if let Some(acc) = fx.reference.pointer(&format!("/{case}/{split}/accuracy")) {
                let got_acc = got["accuracy"].as_f64().unwrap();
                assert!(
                    (got_acc - acc.as_f64().unwrap()).abs() < 1e-12,
                    "{case} {got}"
                );
            }
        }
    }
}

/// A batch whose every target is ignored (samples 16..32 in stored order): PyTorch's mean of it
/// is NaN. It adds nothing — not to the loss, not to the gradients — and the epoch (with or
/// without accumulation, with the loss summed on the device or on the host) is PyTorch's one-shot
/// mean over the rest:
///
/// ```python
/// F.cross_entropy(model(inputs), targets).item()      # the fixture's /empty_batch/…/one_shot
/// ```
#[test]
fn a_batch_of_ignored_targets_adds_nothing() {
    let args = task("tokens", "empty_batch.safetensors", "cross-entropy", &[]);
    for split in ["train", "eval"] {
        let got = eval_json(&args, split);
        assert_one_shot(got["loss"].as_f64().unwrap(), "empty_batch", split);
    }
    let extras: [&[&str]; 3] = [
        &["--no-shuffle"],
        &["--no-shuffle", "--accumulate", "2"],
        &["--no-shuffle", "--loss-sync", "epoch"],
    ];
    for extra in extras {
        let record = train_at_lr_0(&args, extra);
        for split in ["train", "eval"] {
            let loss = record[format!("{split}_loss")].as_f64().unwrap();
            assert!(loss.is_finite(), "{extra:?}: {record}");
            assert_one_shot(loss, "empty_batch", split);
        }
        assert_eq!(record["batches"], 13, "{record}");
        assert_eq!(record["train_samples"], 203, "{record}");
    }
}

/// Both sides train with the options and weigh each batch by its count, to the bit: losses,
/// counts and final weights. The empty batch runs in stored order (it is then a whole batch).
/// The PyTorch side is scripts/reference.py's loop:
///
/// ```python
/// criterion = lambda o, t: F.cross_entropy(o, t, weight=w.to(o.dtype), ignore_index=ii, label_smoothing=ls)
/// counts = (w[t.masked_fill(~keep, 0)].masked_fill(~keep, 0.0)).reshape(n, -1).sum(1)  # per sample
/// for inputs, targets, counts in loader:          # count = counts summed left to right
///     if count == 0: continue
///     optimizer.zero_grad(); _loss = criterion(model(inputs), targets); _loss.backward(); optimizer.step()
///     total_loss += _loss.item() * count; total_count += count
/// average_loss = total_loss / total_count
/// ```
#[test]
fn compare_with_loss_options_is_bit_identical() {
    let weights = ["--class-weights", WEIGHTS, "--label-smoothing", SMOOTHING];
    let cases = [
        task(
            "tokens",
            "data.safetensors",
            "cross-entropy",
            &["--momentum", "0.9"],
        ),
        task("tokens", "data.safetensors", "cross-entropy", &weights),
        task(
            "tokens",
            "pad_minus1.safetensors",
            "cross-entropy",
            &[
                "--ignore-index",
                "-1",
                "--optimizer",
                "adam",
                "--lr",
                "0.01",
            ],
        ),
        task(
            "tokens",
            "empty_batch.safetensors",
            "cross-entropy",
            &["--no-shuffle", "--loss-sync", "epoch"],
        ),
        task(
            "multilabel",
            "data.safetensors",
            "bce-with-logits",
            &[
                "--pos-weight",
                POS_WEIGHT,
                "--optimizer",
                "adam",
                "--lr",
                "0.01",
            ],
        ),
    ];
    for args in &cases {
        assert_compare_identical(args);
    }
}

/// `compare` with `args`: relative difference 0, the same counts and final weights on both sides.
pub fn assert_compare_identical(args: &[String]) {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let dir = assert_identical_run(&args);
    let cmp = dir.path().join("cmp");
    assert_eq!(compare_json(&cmp)["max_rel_diff"], 0.0, "{args:?}");
    let counts = |side: &str| -> Vec<(Value, Value)> {
        read_jsonl(&cmp.join(side).join("metrics.jsonl"))
            .into_iter()
            .map(|r| (r["train_count"].clone(), r["eval_count"].clone()))
            .collect()
    };
    assert_eq!(counts("harness"), counts("reference"), "{args:?}");
    let harness = read_tensors(&cmp.join("harness/model.safetensors")).unwrap();
    let python = read_tensors(&cmp.join("reference/model.safetensors")).unwrap();
    assert_eq!(harness.len(), python.len());
    for ((name, h), (_, p)) in harness.iter().zip(&python) {
        assert!(h.equal(p), "{args:?}: final {name} differs");
    }
}
