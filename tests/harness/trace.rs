//! The divergence locator: `--trace` on both sides of `compare`, and `diff` of traces into which
//! one kind of divergence was put — batch order, initial value, gradient, update — each named at
//! the right step and tensor. Fingerprints equal Python's (scripts/trace.py) for the same bytes.
use std::path::Path;

use serde_json::{json, Value};
use tch::{Kind, Tensor};
use tch_harness::data::write_tensors;
use tch_harness::trace::fingerprint;

use crate::common::{run_bin, run_python, tempdir, text};
use crate::compare::{compare_json, run_compare};

/// One epoch of digits-mlp (22 steps of batch 64), traced, with `extra` flags, into `out`.
fn traced_run(out: &Path, extra: &[&str]) {
    let base = [
        "train",
        "--epochs",
        "1",
        "--threads",
        "1",
        "--device",
        "cpu",
        "--trace",
    ];
    let args = [&base[..], extra, &["--out", out.to_str().unwrap()]].concat();
    let run = run_bin(&args);
    assert!(run.status.success(), "{}", text(&run));
}

/// `diff a b`'s divergence, from its compare.json (the diff itself may fail: losses differ).
fn divergence(dir: &Path, a: &str, b: &str) -> Value {
    let (a, b, out) = (
        dir.join(a),
        dir.join(b),
        dir.join(format!("diff-{}", b.len())),
    );
    let args = [
        "diff",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    let run = run_bin(&args);
    assert!(text(&run).contains("traces: "), "{}", text(&run));
    compare_json(&out)["divergence"].clone()
}

#[test]
fn compare_trace_is_identical_through_the_last_step() {
    let (dir, out) = run_compare(&["--trace"]);
    assert!(out.status.success(), "{}", text(&out));
    let steps = 2 * 1347_usize.div_ceil(64);
    assert!(
        text(&out).contains(&format!("traces: identical through step {steps}")),
        "{}",
        text(&out)
    );
    let report = compare_json(&dir.path().join("cmp"));
    assert_eq!(report["divergence"]["identical_through"], json!(steps));
    assert_eq!(report["divergence"]["first"], Value::Null);
}

/// digits-mlp's initial state_dict (seed 0) with fc2.bias[3] one ulp up.
const NUDGED_INIT: &str = r#"
import sys
sys.path.insert(0, "scripts")
import torch
from safetensors.torch import save_file
from experiments import make_net
torch.manual_seed(0)
sd = {k: v.detach().clone() for k, v in make_net("digits-mlp").state_dict().items()}
sd["fc2.bias"][3] = torch.nextafter(sd["fc2.bias"][3], torch.tensor(1.0))
save_file(sd, sys.argv[1])
"#;

#[test]
fn each_kind_of_divergence_is_named_at_its_step_and_tensor() {
    let dir = tempdir();
    let d = dir.path();
    traced_run(&d.join("base"), &[]);
    traced_run(&d.join("order"), &["--no-shuffle"]);
    let init = d.join("nudged.safetensors");
    run_python(NUDGED_INIT, &[init.to_str().unwrap()]);
    traced_run(&d.join("init"), &["--init", init.to_str().unwrap()]);
    traced_run(&d.join("gradient"), &["--clip-grad-value", "0.001"]);
    traced_run(&d.join("update"), &["--lr", "0.051"]);

    let same = divergence(d, "base", "base");
    assert_eq!(same["identical_through"], json!(22));
    assert_eq!(same["first"], Value::Null);

    let order = divergence(d, "order", "base");
    assert_eq!(order["first"]["what"], "batch order", "{order}");
    assert_eq!(order["first"]["step"], 1);
    assert_eq!(order["identical_through"], 0);

    let init = divergence(d, "init", "base");
    assert_eq!(init["first"]["what"], "initial value", "{init}");
    assert_eq!(init["first"]["step"], 0);
    assert_eq!(init["first"]["tensor"], "fc2.bias");
    let relative = init["first"]["relative"].as_f64().unwrap();
    assert!(relative > 0.0 && relative < 1e-6, "one ulp: {init}");

    // The loss of step 1 is equal; its clipped gradient is not.
    let gradient = divergence(d, "gradient", "base");
    assert_eq!(gradient["first"]["what"], "gradient", "{gradient}");
    assert_eq!(gradient["first"]["step"], 1);
    assert_eq!(gradient["first"]["tensor"], "fc1.weight");

    let update = divergence(d, "update", "base");
    assert_eq!(update["first"]["what"], "value after the step", "{update}");
    assert_eq!(update["first"]["step"], 1);
    assert_eq!(update["first"]["tensor"], "fc1.weight");
}

/// scripts/trace.py's fingerprints of the tensors in `argv[1]`, as JSON.
const PYTHON_FINGERPRINTS: &str = r#"
import json, sys
sys.path.insert(0, "scripts")
from safetensors.torch import load_file
from trace import fingerprint
print(json.dumps([fingerprint(k, v) for k, v in sorted(load_file(sys.argv[1]).items())]))
"#;

#[test]
fn fingerprints_equal_pythons_for_the_same_tensors() {
    let dir = tempdir();
    let tensors = vec![
        (
            "a_f32".to_string(),
            Tensor::from_slice(&[1.5f32, -0.0, 3.25e-8, 7.0]).reshape([2, 2]),
        ),
        (
            "b_f64".to_string(),
            Tensor::from_slice(&[0.1f64, 0.2, -0.3]),
        ),
        (
            "c_i64".to_string(),
            Tensor::from_slice(&[3i64, -1, 1 << 40]),
        ),
        ("d_scalar".to_string(), Tensor::from(5i64)),
    ];
    let file = dir.path().join("t.safetensors");
    write_tensors(&file, &tensors, None).unwrap();
    let python: Vec<Value> =
        serde_json::from_str(run_python(PYTHON_FINGERPRINTS, &[file.to_str().unwrap()]).trim())
            .unwrap();
    assert_eq!(python.len(), tensors.len());
    for ((name, t), theirs) in tensors.iter().zip(&python) {
        let ours = serde_json::to_value(fingerprint(name, t, false).unwrap()).unwrap();
        assert_eq!(&ours, theirs, "{name} ({:?})", t.kind());
    }
    assert_eq!(tensors[2].1.kind(), Kind::Int64);
}

#[test]
fn a_torn_trace_is_a_one_line_error() {
    let dir = tempdir();
    let run = dir.path().join("run");
    traced_run(&run, &[]);
    let trace = run.join("trace.jsonl");
    let mut torn = std::fs::read_to_string(&trace).unwrap();
    torn.insert_str(torn.find('\n').unwrap() + 1, "{\"step\": 1, \"epo\n");
    std::fs::write(&trace, torn).unwrap();
    let report = dir.path().join("report");
    let args = [
        "diff",
        run.to_str().unwrap(),
        run.to_str().unwrap(),
        "--out",
        report.to_str().unwrap(),
    ];
    crate::common::assert_clean_error(&run_bin(&args), "line 2 is not a trace step");
}
