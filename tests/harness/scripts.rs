//! The safetensors stand-in scripts/gpu-check.sh falls back on (the script's own tests are in
//! gpu_check.rs), `tch-harness info`, scripts/bench.sh, and the shape of the Python reference
//! (scripts/torchref/): short files, one loop, the harness's defaults.
use serde_json::Value;
use tch_harness::optim::OptimizerKind;
use tch_harness::Loss;

use crate::common::{assert_clean_error, bin, python, root, run_bin, run_python, tempdir, text};

/// The stand-in reads the data files as safetensors does and writes files safetensors reads.
#[test]
fn safetensors_stand_in_matches_the_real_package() {
    let code = r#"
import sys, tempfile, os, torch
sys.path.insert(0, "scripts/pyshim")
import safetensors.torch as shim
assert "pyshim" in shim.__file__, shim.__file__
sys.path.pop(0)
for m in ["safetensors", "safetensors.torch"]:
    del sys.modules[m]
import safetensors.torch as real
assert "pyshim" not in real.__file__
for f in ["data/digits.safetensors", "data/breast_cancer.safetensors"]:
    a, b = shim.load_file(f), real.load_file(f)
    assert a.keys() == b.keys()
    for k in a:
        assert a[k].dtype == b[k].dtype and torch.equal(a[k], b[k]), (f, k)
d = {"w": torch.randn(3, 4), "b": torch.randn(4).double(), "i": torch.arange(5),
     "s": torch.tensor(2.5), "e": torch.empty(0, 3), "h": torch.randn(2).half()}
path = os.path.join(tempfile.mkdtemp(), "t.safetensors")
shim.save_file(d, path)
for loaded in (real.load_file(path), shim.load_file(path)):
    for k in d:
        assert loaded[k].dtype == d[k].dtype and torch.equal(loaded[k], d[k]), k
print("ok")
"#;
    assert_eq!(run_python(code, &[]).trim(), "ok");
}

#[test]
fn info_prints_versions_devices_and_threads() {
    let out = run_bin(&["info"]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for key in [
        "tch: 0.24.0",
        "libtorch: 2.11.0",
        "cuda_available: ",
        "cuda_devices: ",
        "cudnn_available: ",
        "threads: ",
    ] {
        assert!(stdout.contains(key), "missing '{key}': {stdout}");
    }
}

/// scripts/bench.sh end to end, tiny: every row of the table is there (the numbers are its job).
#[test]
fn bench_prints_its_table() {
    let exe = std::path::PathBuf::from(bin().get_program());
    let bare = exe.parent().unwrap().join("examples/bare_loop");
    assert!(
        bare.exists(),
        "cargo test builds examples: {}",
        bare.display()
    );
    let out = std::process::Command::new(root().join("scripts/bench.sh"))
        .args(["--runs", "1", "--epochs", "2"])
        .env("BENCH_NO_BUILD", "1")
        .env("TCH_HARNESS_BIN", &exe)
        .env("BARE_LOOP_BIN", &bare)
        .output()
        .unwrap();
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    for needle in [
        "device cpu, 1 thread(s)",
        "harness, --loss-sync batch",
        "harness, --loss-sync epoch",
        "reference.py (PyTorch eager)",
        "lean PyTorch eager loop",
        "bare tch loop",
        "/ lean PyTorch loop",
        "--loss-sync batch: harness / reference",
        "harness overhead over the bare loop",
    ] {
        assert!(all.contains(needle), "missing '{needle}': {all}");
    }
}

/// scripts/device_run.sh's dry run (`--device cpu --quick`): every part leaves its table in OUT,
/// so that a borrowed GPU's minutes go to one prepared call; an unknown part is refused.
#[test]
fn device_run_leaves_every_part_in_out() {
    let exe = std::path::PathBuf::from(bin().get_program());
    let dir = tempdir();
    let run = |args: &[&str]| {
        std::process::Command::new(root().join("scripts/device_run.sh"))
            .args(args)
            .env("OUT", dir.path())
            .env("TCH_HARNESS_BIN", &exe)
            .env(
                "BARE_LOOP_BIN",
                exe.parent().unwrap().join("examples/bare_loop"),
            )
            .output()
            .unwrap()
    };
    let out = run(&["--device", "cpu", "--quick"]);
    assert!(out.status.success(), "{}", text(&out));
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).unwrap_or_default();
    assert!(
        read("info.txt").contains("libtorch"),
        "{}",
        read("info.txt")
    );
    assert!(
        read("gpu-check.txt").contains("| digits-mlp | pass | 0 |"),
        "{}",
        read("gpu-check.txt")
    );
    for part in [
        "digits-mlp",
        "digits-cnn",
        "cmudict-gru",
        "bf16-mixed",
        "16-mixed",
    ] {
        let table = read(&format!("bench-{part}.txt"));
        assert!(
            table.contains("lean PyTorch eager loop"),
            "bench-{part}: {table}"
        );
    }
    assert_eq!(
        read("times.txt").lines().count(),
        6,
        "{}",
        read("times.txt")
    );
    assert_eq!(run(&["--parts", "speed"]).status.code(), Some(2));
}

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
