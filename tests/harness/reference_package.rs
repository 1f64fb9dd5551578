//! The shape of the Python reference (scripts/torchref/): short files, one loop, and the
//! harness's defaults, key for key, whichever way a run is spelt.
use serde_json::Value;
use tch_harness::optim::OptimizerKind;
use tch_harness::Loss;

use crate::common::{assert_clean_error, python, root, run_bin, run_python, tempdir, text};

/// The reference package stays readable: no file over 300 lines, the command a thin one, and
/// the training loop written once (a single process is a group of one, not a second copy).
#[test]
fn reference_package_files_are_short_and_hold_one_loop() {
    let package = root().join("scripts/torchref");
    let mut sources = Vec::new();
    for entry in std::fs::read_dir(&package).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "py") {
            sources.push((path.clone(), std::fs::read_to_string(&path).unwrap()));
        }
    }
    assert!(
        sources.len() >= 10,
        "{} modules in {}",
        sources.len(),
        package.display()
    );
    for (path, source) in &sources {
        let lines = source.lines().count();
        assert!(lines <= 300, "{}: {lines} lines", path.display());
    }
    let command = std::fs::read_to_string(root().join("scripts/reference.py")).unwrap();
    assert!(
        command.lines().count() <= 40,
        "scripts/reference.py: {command}"
    );
    for needle in ["def train(", ".backward(", "optimizer.zero_grad()"] {
        let found: Vec<_> = sources
            .iter()
            .filter(|(_, s)| s.contains(needle))
            .map(|(p, s)| (p.file_name().unwrap().to_owned(), s.matches(needle).count()))
            .collect();
        assert_eq!(found.len(), 1, "'{needle}' in {found:?}");
        assert_eq!(found[0].1, 1, "'{needle}' in {found:?}");
    }
}

/// The `config` object `tch-harness train FLAGS` writes to config.json.
fn harness_config(flags: &[&str]) -> Value {
    let dir = tempdir();
    let out = dir.path().join("run");
    let mut args = vec!["train", "--out", out.to_str().unwrap()];
    args.extend_from_slice(flags);
    let run = run_bin(&args);
    assert!(run.status.success(), "{flags:?}: {}", text(&run));
    let file: Value =
        serde_json::from_slice(&std::fs::read(out.join("config.json")).unwrap()).unwrap();
    file["config"].clone()
}

/// The same keys with the same values, numbers compared as numbers (torch.optim's signature says
/// `momentum=0`, the harness writes 0.0).
fn assert_same(theirs: &Value, ours: &Value, what: &str) {
    fn same(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
            (Value::Array(x), Value::Array(y)) => {
                x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b))
            }
            (Value::Object(x), Value::Object(y)) => {
                x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| same(v, w)))
            }
            _ => a == b,
        }
    }
    assert!(
        same(theirs, ours),
        "{what}:\n reference {theirs}\n harness   {ours}"
    );
}

/// The configuration reference.py's flags build, for each argument list of `argv[1]` (JSON).
const REFERENCE_CONFIGS: &str = r#"
import json, sys
sys.path.insert(0, "scripts")
from torchref.cli import parse
print(json.dumps([parse(argv)[0] for argv in json.loads(sys.argv[1])]))
"#;

/// The reference's standalone flags take the harness's defaults (config.DEFAULTS, torch.optim's
/// for an optimizer's keywords): a plain run writes the harness's configuration, key for key,
/// and so does every optimizer name and every flag.
#[test]
fn reference_defaults_are_the_harness_defaults() {
    // A plain run, end to end: only the experiment and one epoch given.
    let dir = tempdir();
    let out = dir.path().join("py");
    let run = python()
        .args([
            "scripts/reference.py",
            "--experiment",
            "digits-mlp",
            "--epochs",
            "1",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(run.status.success(), "{}", text(&run));
    let written: Value =
        serde_json::from_slice(&std::fs::read(out.join("config.json")).unwrap()).unwrap();
    let plain = ["--experiment", "digits-mlp", "--epochs", "1"];
    assert_same(&written["config"], &harness_config(&plain), "plain run");

    let mut cases: Vec<Vec<&str>> = vec![
        vec![
            "--momentum",
            "0.9",
            "--nesterov",
            "--weight-decay",
            "1e-4",
            "--lr",
            "0.1",
        ],
        vec![
            "--optimizer",
            "adam",
            "--beta2",
            "0.99",
            "--amsgrad",
            "--eps",
            "1e-6",
        ],
        vec![
            "--optimizer",
            "adamw",
            "--beta1",
            "0.8",
            "--weight-decay",
            "0.1",
        ],
        vec![
            "--experiment",
            "breast-cancer",
            "--no-shuffle",
            "--batch-size",
            "32",
            "--seed",
            "3",
            "--accumulate",
            "2",
            "--clip-grad-norm",
            "1.5",
            "--clip-norm-type",
            "1",
            "--scheduler",
            "StepLR(step_size=1, gamma=0.5)",
            "--scheduler-interval",
            "batch",
            "--pos-weight",
            "2",
            "--trace",
            "--device",
            "cpu",
        ],
        vec![
            "--experiment",
            "digits-cnn",
            "--loss",
            "nll",
            "--ignore-index",
            "3",
            "--class-weights",
            "1,2,1,1,1,1,1,1,1,0.5",
        ],
        vec![
            "--loss",
            "cross-entropy",
            "--label-smoothing",
            "0.1",
            "--clip-grad-value",
            "0.5",
        ],
        // The torch.backends switches, each away from its default (--trace would turn
        // --deterministic on; false lets --cudnn-benchmark on).
        vec![
            "--trace",
            "--deterministic",
            "false",
            "--cudnn-benchmark",
            "--cudnn-allow-tf32",
            "off",
            "--float32-matmul-precision",
            "high",
        ],
    ];
    // Muon takes matrices only: the harness needs a group for the biases (compared below).
    for kind in OptimizerKind::ALL.iter().filter(|k| k.name() != "muon") {
        cases.push(vec!["--optimizer", kind.name()]);
    }
    cases.push(vec!["--optimizer", "muon"]);
    for case in &mut cases {
        case.extend(["--epochs", "1", "--threads", "1"]);
    }
    let python_side: Vec<Value> = serde_json::from_str(
        run_python(
            REFERENCE_CONFIGS,
            &[&serde_json::to_string(&cases).unwrap()],
        )
        .trim(),
    )
    .unwrap();
    for (flags, theirs) in cases.iter().zip(&python_side) {
        if flags.contains(&"muon") {
            let ours = harness_config(&[flags, &["--param-group", "ndim=1: SGD()"][..]].concat());
            assert_same(
                &theirs["optimizer"],
                &ours["optimizer"],
                &format!("{flags:?}"),
            );
            continue;
        }
        assert_same(theirs, &harness_config(flags), &format!("{flags:?}"));
    }

    // A keyword flag for an optimizer without that keyword: one line, as in the harness.
    let wrong = [
        "scripts/reference.py",
        "--optimizer",
        "adam",
        "--momentum",
        "0.9",
    ];
    assert_clean_error(
        &python().args(wrong).output().unwrap(),
        "--momentum does not apply to --optimizer adam",
    );
}

/// The reference finds its class-index losses from PyTorch's signatures (those taking
/// `ignore_index`); they must be the harness's, and every harness loss must exist there.
#[test]
fn reference_class_index_losses_are_the_harness_ones() {
    let code = "import sys; sys.path.insert(0, 'scripts')\n\
                from torchref.criterion import CRITERIA, CLASS_LOSSES\n\
                print(' '.join(CLASS_LOSSES)); print(' '.join(CRITERIA))";
    let out = run_python(code, &[]);
    let mut lines = out.lines();
    let ours = |pick: fn(&Loss) -> bool| -> Vec<&str> {
        Loss::ALL
            .iter()
            .filter(|l| pick(l))
            .map(|l| l.name())
            .collect()
    };
    let words = |line: Option<&str>| -> Vec<String> {
        line.unwrap_or("")
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    assert_eq!(words(lines.next()), ours(|l| l.takes_class_indices()));
    assert_eq!(words(lines.next()), ours(|_| true));
}
