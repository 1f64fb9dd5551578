//! The experiments built from the porting kit's layers, against scripts/reference.py through the
//! built binary: `digits-cnn` (conv, batch norm, pooling, dropout) and `cmudict-gru` (embedding,
//! GRU, padded targets, token-weighted loss, AdamW with a one-cycle schedule and clipping) are
//! bit-identical on the CPU with the configurations in configs/; a state_dict goes both ways.
use std::collections::BTreeMap;

use serde_json::json;
use tch::Tensor;
use tch_harness::data::read_tensors;

use crate::bits::assert_bits_eq;
use crate::common::{read_jsonl, run_python, tempdir};
use crate::compare::{assert_identical_run, compare_json, run_compare};

#[test]
fn compare_digits_cnn_is_bit_identical() {
    let dir = assert_identical_run(&["--config", "configs/digits-cnn.toml"]);
    let rows = read_jsonl(&dir.path().join("cmp/harness/metrics.jsonl"));
    assert_eq!(rows[0]["train_samples"], 1347);
    assert_eq!(
        rows[0]["batches"], 22,
        "1347 = 21 x 64 + 3: the short batch is kept"
    );
}

#[test]
fn compare_cmudict_gru_is_bit_identical_and_counts_tokens() {
    let dir = assert_identical_run(&["--config", "configs/cmudict-gru.toml"]);
    let rows = read_jsonl(&dir.path().join("cmp/harness/metrics.jsonl"));
    let reference = read_jsonl(&dir.path().join("cmp/reference/metrics.jsonl"));
    assert_eq!(rows[0]["train_samples"], 2131);
    assert_eq!(rows[0]["batches"], 34);
    // The mean is over letters, not words: padding (-100) counts for nothing.
    assert_eq!(rows[0]["train_count"], json!(16838.0));
    assert_eq!(rows[0]["train_count"], reference[0]["train_count"]);
    assert_eq!(rows[0]["eval_count"], reference[0]["eval_count"]);
    assert!(
        rows[0]["lr"] != rows[1]["lr"],
        "the one-cycle schedule moves the rate"
    );
    assert!(
        rows[0]["grad_norm_max"].as_f64().unwrap() > 0.25,
        "clipping acts"
    );
}

/// PyTorch's `DigitsCnn` state_dict after `torch.manual_seed(7)` into `argv[1]`.
const PYTORCH_INIT: &str = r#"
import sys
sys.path.insert(0, "scripts")
import torch
from safetensors.torch import save_file
from experiments import DigitsCnn
torch.manual_seed(7)
save_file({k: v.contiguous() for k, v in DigitsCnn().state_dict().items()}, sys.argv[1])
"#;

/// Loads the harness's model.safetensors into PyTorch's `DigitsCnn` strictly; prints the
/// buffers' batch count.
const PYTORCH_LOAD: &str = r#"
import sys
sys.path.insert(0, "scripts")
from safetensors.torch import load_file
from experiments import DigitsCnn
model = DigitsCnn()
model.load_state_dict(load_file(sys.argv[1]), strict=True)
print(int(model.bn1.num_batches_tracked))
"#;

#[test]
fn a_pytorch_state_dict_goes_in_and_the_trained_one_comes_back_out() {
    let dir = tempdir();
    let init = dir.path().join("init.safetensors");
    run_python(PYTORCH_INIT, &[init.to_str().unwrap()]);
    let (out_dir, out) = run_compare(&[
        "--experiment",
        "digits-cnn",
        "--init",
        init.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", crate::common::text(&out));
    let cmp = out_dir.path().join("cmp");
    assert_eq!(compare_json(&cmp)["max_rel_diff"], json!(0.0));

    let ours = cmp.join("harness/model.safetensors");
    let batches = run_python(PYTORCH_LOAD, &[ours.to_str().unwrap()]);
    assert_eq!(batches.trim(), "44", "2 epochs of 22 batches tracked");
    let read = |p: &std::path::Path| -> BTreeMap<String, Tensor> {
        read_tensors(p).unwrap().into_iter().collect()
    };
    let (ours, theirs) = (read(&ours), read(&cmp.join("reference/model.safetensors")));
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>()
    );
    assert!(ours.contains_key("bn2.running_var"));
    for (name, t) in &theirs {
        assert_bits_eq(name, &ours[name], t);
    }
}
