//! The `torch.backends` switches (issue 19, items 1 and 2): PyTorch's own defaults, read from
//! PyTorch, are the harness's; what the harness sets is what libtorch reads back (`info`); both
//! sides of a compare record the same values, deterministic by default; bad values are one line.
use std::collections::BTreeMap;
use std::path::Path;

use serde_json::{json, Value};

use crate::common::{assert_clean_error, bin, python, run_bin, run_python, tempdir, text};
use crate::compare::{reference_config, run_compare};
use crate::resume_fit::edit_config;

/// The switches as PyTorch reads them back after setting them from `argv` (`--deterministic
/// true …`, none for the defaults), in config.json's `backends` keys.
const PYTORCH_STATE: &str = r#"
import json, os, sys, torch
a = dict(zip(sys.argv[1::2], sys.argv[2::2]))
on = lambda k: a[k] == "true"
if "--deterministic" in a:
    if on("--deterministic"):
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.backends.cudnn.deterministic = on("--deterministic")
    torch.use_deterministic_algorithms(on("--deterministic"))
    torch.backends.cudnn.benchmark = on("--cudnn-benchmark")
    torch.backends.cudnn.allow_tf32 = on("--cudnn-allow-tf32")
    torch.set_float32_matmul_precision(a["--float32-matmul-precision"])
print(json.dumps({
    "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
    "deterministic_warn_only": torch.is_deterministic_algorithms_warn_only_enabled(),
    "cudnn_deterministic": torch.backends.cudnn.deterministic,
    "cudnn_benchmark": torch.backends.cudnn.benchmark,
    "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
    "float32_matmul_precision": torch.get_float32_matmul_precision(),
    "cublas_workspace_config": os.environ.get("CUBLAS_WORKSPACE_CONFIG"),
}))
"#;

fn pytorch_state(argv: &[&str]) -> Value {
    serde_json::from_str(&run_python(PYTORCH_STATE, argv)).unwrap()
}

/// `tch-harness info`'s read-back lines as config.json's `backends` object.
fn info_state(flags: &[&str], workspace: Option<&str>) -> Value {
    let mut cmd = bin();
    cmd.arg("info")
        .args(flags)
        .env_remove("CUBLAS_WORKSPACE_CONFIG");
    if let Some(value) = workspace {
        cmd.env("CUBLAS_WORKSPACE_CONFIG", value);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let lines: BTreeMap<String, String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let keys = pytorch_state(&[]);
    let state = keys.as_object().unwrap().keys().map(|key| {
        let line = lines
            .get(key)
            .unwrap_or_else(|| panic!("info has no {key}"));
        let value = match line.as_str() {
            "true" | "false" => json!(line == "true"),
            "null" => Value::Null,
            text => json!(text),
        };
        (key.clone(), value)
    });
    Value::Object(state.collect())
}

/// PyTorch's defaults, read from PyTorch, are what the harness leaves libtorch with and what a
/// plain run records, both as settings and read back.
#[test]
fn pytorch_defaults_are_the_harness_defaults() {
    let torch = pytorch_state(&[]);
    assert_eq!(
        torch["cudnn_allow_tf32"],
        json!(true),
        "PyTorch 2.11: {torch}"
    );
    assert_eq!(info_state(&[], None), torch);

    let dir = tempdir();
    let run = dir.path().join("run");
    let out = bin()
        .env_remove("CUBLAS_WORKSPACE_CONFIG")
        .args([
            "train",
            "--experiment",
            "linear-regression",
            "--epochs",
            "1",
        ])
        .args(["--device", "cpu", "--threads", "1", "--out"])
        .arg(&run)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let saved = saved(&run);
    assert_eq!(saved["backends"], torch, "read back");
    let config = &saved["config"];
    assert_eq!(config["deterministic"], torch["deterministic_algorithms"]);
    for key in [
        "cudnn_benchmark",
        "cudnn_allow_tf32",
        "float32_matmul_precision",
    ] {
        assert_eq!(config[key], torch[key], "{key}");
    }
}

/// What `info` sets (as `train` would with the same flags) is what libtorch reads back, and
/// what PyTorch reads back after Python sets the same: every switch away from its default.
#[test]
fn what_the_harness_sets_libtorch_reads_back() {
    let cases: [&[&str]; 2] = [
        &[
            "--deterministic",
            "true",
            "--cudnn-benchmark",
            "false",
            "--cudnn-allow-tf32",
            "false",
            "--float32-matmul-precision",
            "medium",
        ],
        &[
            "--deterministic",
            "false",
            "--cudnn-benchmark",
            "true",
            "--cudnn-allow-tf32",
            "true",
            "--float32-matmul-precision",
            "high",
        ],
    ];
    for flags in cases {
        let harness = info_state(flags, None);
        assert_eq!(harness, pytorch_state(flags), "{flags:?}");
    }
    assert_eq!(
        info_state(&["--deterministic"], None)["cublas_workspace_config"],
        json!(":4096:8")
    );
    let theirs = info_state(&["--deterministic"], Some(":16:8"));
    assert_eq!(theirs["cublas_workspace_config"], json!(":16:8"), "kept");
    assert_eq!(theirs["deterministic_algorithms"], json!(true));
}

/// `compare` is deterministic unless told otherwise, and both config.json files record the
/// same settings and the same values read back from libtorch and from PyTorch.
#[test]
fn compare_records_equal_switches_on_both_sides() {
    for (flags, deterministic) in [
        (
            &[
                "--cudnn-allow-tf32",
                "false",
                "--float32-matmul-precision",
                "high",
            ][..],
            true,
        ),
        (
            &["--deterministic", "false", "--cudnn-benchmark"][..],
            false,
        ),
    ] {
        let args = [&["--experiment", "linear-regression"][..], flags].concat();
        let (dir, out) = run_compare(&args);
        assert!(out.status.success(), "{}", text(&out));
        let cmp = dir.path().join("cmp");
        let (harness, reference) = (saved(&cmp.join("harness")), saved(&cmp.join("reference")));
        for key in [
            "deterministic",
            "cudnn_benchmark",
            "cudnn_allow_tf32",
            "float32_matmul_precision",
        ] {
            assert_eq!(harness["config"][key], reference_config(&cmp)[key], "{key}");
        }
        assert_eq!(harness["config"]["deterministic"], json!(deterministic));
        assert_eq!(harness["backends"], reference["backends"], "{flags:?}");
        let state = &harness["backends"];
        assert_eq!(state["deterministic_algorithms"], json!(deterministic));
        assert_eq!(state["cudnn_deterministic"], json!(deterministic));
        assert_eq!(state["cudnn_benchmark"], json!(!deterministic));
        assert_eq!(state["cudnn_allow_tf32"], json!(!deterministic));
    }
}

/// A run's settings survive `--resume` and `--config`; an old run directory whose config.json
/// and checkpoint lack the keys resumes with the defaults, and the reference reads such a file.
#[test]
fn the_switches_are_kept_by_resume_and_read_from_old_files() {
    let dir = tempdir();
    let run = dir.path().join("run");
    let train = |run: &Path, flags: &[&str]| {
        let base = [
            "train",
            "--experiment",
            "linear-regression",
            "--epochs",
            "1",
        ];
        let tail = [
            "--device",
            "cpu",
            "--threads",
            "1",
            "--out",
            run.to_str().unwrap(),
        ];
        let out = run_bin(&[&base[..], flags, &tail[..]].concat());
        assert!(out.status.success(), "{}", text(&out));
    };
    train(&run, &["--trace", "--cudnn-allow-tf32", "false"]);
    edit_config(&run, |c| c["epochs"] = json!(2));
    let out = run_bin(&["train", "--resume", run.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    let config = &saved(&run)["config"];
    assert_eq!(config["deterministic"], json!(true), "--trace's default");
    assert_eq!(config["cudnn_allow_tf32"], json!(false));

    let again = dir.path().join("again");
    let file = run.join("config.json");
    train(&again, &["--config", file.to_str().unwrap()]);
    let mut from_file = saved(&again)["config"].clone();
    from_file["epochs"] = config["epochs"].clone(); // `train` above gives --epochs 1
    assert_eq!(from_file, *config, "--config keeps them");

    // An old run: config.json and the checkpoint without the keys.
    let old = dir.path().join("old");
    train(&old, &["--trace"]);
    let keys = [
        "deterministic",
        "cudnn_benchmark",
        "cudnn_allow_tf32",
        "float32_matmul_precision",
    ];
    edit_config(&old, |c| {
        for key in keys {
            c.as_object_mut().unwrap().remove(key).unwrap();
        }
        c["epochs"] = json!(2);
    });
    crate::resume_fit::edit_checkpoint(&old, |checkpoint| {
        let config = checkpoint.config.as_mut().unwrap();
        for key in keys {
            config.as_object_mut().unwrap().remove(key).unwrap();
        }
    });
    let out = run_bin(&["train", "--resume", old.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));

    let reference = dir.path().join("reference");
    let out = python()
        .arg("scripts/reference.py")
        .arg("--config")
        .arg(old.join("config.json"))
        .arg("--out")
        .arg(&reference)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let read = &saved(&reference)["config"];
    assert_eq!(read["deterministic"], json!(true), "a trace's default");
    assert_eq!(read["cudnn_allow_tf32"], json!(true));
    assert_eq!(read["float32_matmul_precision"], json!("highest"));
}

/// Bad values and contradictions: one line naming the flag, on both sides.
#[test]
fn bad_switches_are_one_line_errors() {
    let base = [
        "train",
        "--experiment",
        "linear-regression",
        "--device",
        "cpu",
    ];
    let out = run_bin(&[&base[..], &["--float32-matmul-precision", "fast"]].concat());
    assert_clean_error(&out, "invalid --float32-matmul-precision 'fast'");
    let out = run_bin(&[&base[..], &["--deterministic", "maybe"]].concat());
    assert_clean_error(&out, "--deterministic");
    let out = run_bin(&[&base[..], &["--trace", "--cudnn-benchmark"]].concat());
    assert_clean_error(&out, "--cudnn-benchmark picks cuDNN kernels by timing them");
    let out = run_bin(&["info", "--deterministic", "--cudnn-benchmark", "on"]);
    assert_clean_error(&out, "--cudnn-benchmark");

    let reference = python()
        .args(["scripts/reference.py", "--experiment", "linear-regression"])
        .args([
            "--epochs",
            "1",
            "--device",
            "cpu",
            "--trace",
            "--cudnn-benchmark",
        ])
        .output()
        .unwrap();
    assert!(!reference.status.success(), "{}", text(&reference));
    let stderr = String::from_utf8_lossy(&reference.stderr);
    assert!(stderr.contains("--cudnn-benchmark picks"), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
}

/// A run directory's config.json.
fn saved(run: &Path) -> Value {
    let file = run.join("config.json");
    serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap()
}
