//! Shared helpers: the built binary, the project's Python (.venv), temporary run folders.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `tch-harness` binary Cargo built for these tests.
pub fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tch-harness"));
    cmd.current_dir(root());
    cmd
}

/// Runs the binary with `args`; returns its output.
pub fn run_bin(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary starts")
}

/// The project's Python (PyTorch 2.11), made by scripts/setup.sh.
pub fn python() -> Command {
    let path = root().join(".venv/bin/python");
    assert!(
        path.exists(),
        "{} is missing: run scripts/setup.sh",
        path.display()
    );
    let mut cmd = Command::new(path);
    cmd.current_dir(root());
    cmd
}

/// Runs a Python snippet with the project's PyTorch; `args` become `sys.argv[1:]`. Panics with
/// Python's stderr when it fails.
pub fn run_python(code: &str, args: &[&str]) -> String {
    let out = python()
        .arg("-c")
        .arg(code)
        .args(args)
        .output()
        .expect("python starts");
    assert!(
        out.status.success(),
        "python failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// A fresh temporary folder, removed when dropped.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// stdout and stderr of a process, for assertion messages.
pub fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Asserts a failed run with a short error naming `needle`, no panic and no backtrace.
pub fn assert_clean_error(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "expected failure: {}", text(out));
    assert!(
        out.status.code().is_some(),
        "killed by a signal: {}",
        text(out)
    );
    assert_ne!(out.status.code(), Some(101), "panicked: {}", text(out));
    assert!(
        stderr.contains(needle),
        "stderr does not name '{needle}': {}",
        text(out)
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("RUST_BACKTRACE"),
        "panic: {}",
        text(out)
    );
    assert!(
        !stderr.contains("Exception raised from"),
        "C++ backtrace leaked: {}",
        text(out)
    );
    assert!(
        stderr.trim().lines().count() <= 3,
        "error is not short: {}",
        text(out)
    );
}

/// Parses every line of a metrics.jsonl file.
pub fn read_jsonl(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).expect("a complete JSON line"))
        .collect()
}

/// Serialises tests that seed and draw from libtorch's global generator (`manual_seed` then
/// `randperm`/`uniform_`): the test harness runs tests on several threads of one process.
pub fn global_rng() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A porting example's two sides: `run` (the Rust port, included from `examples/`, run in-process
/// under the global-generator lock) and its PyTorch twin `script`, each into a fresh run
/// directory. Returns the port's outcome and both metrics.jsonl.
pub fn port_and_original<T>(
    run: impl FnOnce(&Path) -> tch_harness::Result<T>,
    script: &str,
) -> (T, Vec<serde_json::Value>, Vec<serde_json::Value>) {
    let dir = tempdir();
    let (rust_run, python_run) = (dir.path().join("rust"), dir.path().join("python"));
    let outcome = {
        let _rng = global_rng(); // the port seeds libtorch's global generator
        run(&rust_run).expect("the Rust port trains")
    };
    let out = python().arg(script).arg(&python_run).output().unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let rust = read_jsonl(&rust_run.join("metrics.jsonl"));
    let original = read_jsonl(&python_run.join("metrics.jsonl"));
    (outcome, rust, original)
}
