//! scripts/gpu-check.sh: its list, its dry mode (the same matrix on the CPU, tolerance 0) and a
//! difference or a failure making it exit non-zero. On a GPU it is run by hand (README, CUDA).
use std::process::{Command, Output};

use crate::common::{bin, root, tempdir, text};
use crate::compare::DRIFTING_REFERENCE;

/// The script with the test's binary and the checkout's .venv Python.
fn gpu_check(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(root().join("scripts/gpu-check.sh"));
    command
        .args(args)
        .env("TCH_HARNESS_BIN", bin().get_program())
        .env_remove("TCH_HARNESS_HOME")
        .env_remove("PYTHON")
        .env_remove("GPU_CHECK_EXTRA")
        .env_remove("GPU_CHECK_FORCE_SHIM");
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

/// The table's row for `check`.
fn table_row<'a>(stdout: &'a str, check: &str) -> &'a str {
    let start = format!("| {check} |");
    stdout
        .lines()
        .find(|l| l.starts_with(&start))
        .unwrap_or_else(|| panic!("no row for {check}: {stdout}"))
}

#[test]
fn gpu_check_lists_its_checks_and_refuses_unknown_ones() {
    let out = gpu_check(&["--list"], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let names: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    let expected = [
        "digits-mlp",
        "linear-regression",
        "breast-cancer",
        "digits-cnn",
        "cmudict-gru",
        "torchscript",
        "accumulate-scheduler",
        "bf16-mixed",
        "16-mixed",
        "gloo-2",
        "gloo-1",
        "nccl",
        "eval",
    ];
    assert_eq!(names, expected, "{stdout}");

    let out = gpu_check(&["--only", "digits-mlp,nope"], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown check 'nope'"));
    // No CUDA here: the default device is an error that names the dry mode.
    let out = gpu_check(&["--only", "digits-mlp"], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--device cpu runs the dry mode"));
}

/// The dry mode: the checks pass at tolerance 0 on the CPU, NCCL is skipped with its reason and
/// not counted as a pass, and the one table shows it all. The Python side reads and writes its
/// files with the safetensors stand-in, as on a GPU machine's bare python3.
#[test]
fn gpu_check_dry_mode_passes_at_tolerance_zero() {
    let only = "digits-mlp,gloo-1,nccl,eval";
    let args = ["--device", "cpu", "--only", only, "--epochs", "1"];
    let out = gpu_check(&args, &[("GPU_CHECK_FORCE_SHIM", "1")]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("stand-in"));
    assert!(
        stdout.contains("| check | result | max rel diff |"),
        "{stdout}"
    );
    let mlp = table_row(&stdout, "digits-mlp");
    assert!(
        mlp.contains("| pass | 0 | identical through step "),
        "{mlp}"
    );
    assert!(table_row(&stdout, "gloo-1").contains("| pass | 0 |"));
    assert!(table_row(&stdout, "eval").contains("| pass | 0 |"));
    let nccl = table_row(&stdout, "nccl");
    assert!(
        nccl.contains("| skipped |") && nccl.contains("CUDA only"),
        "{nccl}"
    );
    assert!(
        stdout.contains("gpu-check: 3 passed, 0 failed, 1 skipped on cpu"),
        "{stdout}"
    );
}

/// A reference that drifts by 1e-5, and a flag compare refuses: each a FAIL row, exit status 1.
#[test]
fn gpu_check_fails_on_a_difference_or_a_failed_check() {
    let dir = tempdir();
    let script = dir.path().join("drifting_reference.py");
    let real = root().join("scripts/reference.py");
    let code = DRIFTING_REFERENCE.replace("__REFERENCE__", real.to_str().unwrap());
    std::fs::write(&script, code).unwrap();
    let drift = format!("--reference {}", script.display());
    let args = [
        "--device",
        "cpu",
        "--only",
        "breast-cancer",
        "--epochs",
        "2",
    ];
    let out = gpu_check(&args, &[("GPU_CHECK_EXTRA", &drift)]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let row = table_row(&stdout, "breast-cancer");
    assert!(row.contains("| FAIL | 1e-05 |"), "{row}");
    assert!(row.contains("differ"), "{row}");

    let out = gpu_check(&args, &[("GPU_CHECK_EXTRA", "--no-such-flag")]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let row = table_row(&stdout, "breast-cancer");
    assert!(
        row.contains("| FAIL | - |") && row.contains("--no-such-flag"),
        "{row}"
    );
    assert!(
        stdout.contains("0 passed, 1 failed, 0 skipped on cpu"),
        "{stdout}"
    );
}
