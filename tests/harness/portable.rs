//! The binary away from its checkout: a copy of it with a copy of `scripts/` and `data/` in a
//! temporary folder runs `compare` and `diff` from there, finding the project home through
//! `TCH_HARNESS_HOME` or through its own location, and `--python python3` on `PATH`.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::{assert_clean_error, root, tempdir, text};
use crate::compare::compare_json;

/// Copies the files under `from` into `to` (no `__pycache__`).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let (path, name) = (entry.path(), entry.file_name());
        if path.is_dir() {
            if name != "__pycache__" {
                copy_tree(&path, &to.join(&name));
            }
        } else {
            std::fs::copy(&path, to.join(&name)).unwrap();
        }
    }
}

/// A home (`<dir>/home`: scripts/ and data/) and a copy of the binary at `<dir>/<exe_at>`.
fn carried(dir: &Path, exe_at: &str) -> (PathBuf, PathBuf) {
    let home = dir.join("home");
    for sub in ["scripts", "data"] {
        copy_tree(&root().join(sub), &home.join(sub));
    }
    let exe = dir.join(exe_at);
    std::fs::create_dir_all(exe.parent().unwrap()).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_tch-harness"), &exe).unwrap();
    (home, exe)
}

/// `compare` of breast-cancer (1 epoch) by `exe`, started in `cwd`, into `cwd/cmp`.
fn compare(exe: &Path, cwd: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(exe);
    command
        .current_dir(cwd)
        .env_remove("TCH_HARNESS_HOME")
        .args(["compare", "--experiment", "breast-cancer", "--epochs", "1"])
        .args(["--device", "cpu", "--threads", "1", "--tolerance", "0"])
        .args(extra)
        .args(["--out", "cmp"]);
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

fn venv_python() -> PathBuf {
    root().join(".venv/bin/python")
}

#[test]
fn compare_runs_from_a_copy_found_by_the_variable_or_the_exe() {
    let dir = tempdir();
    // The binary apart from the home: only TCH_HARNESS_HOME leads there.
    let (home, exe) = carried(dir.path(), "elsewhere/tch-harness");
    let cwd = dir.path().join("work");
    std::fs::create_dir_all(&cwd).unwrap();
    let python = venv_python();
    let home_var = home.to_str().unwrap();
    let out = compare(
        &exe,
        &cwd,
        &["--python", python.to_str().unwrap()],
        &[("TCH_HARNESS_HOME", home_var)],
    );
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let reference = home.join("scripts/reference.py");
    assert!(
        stdout.contains(&reference.display().to_string()),
        "{}",
        text(&out)
    );
    let report = compare_json(&cwd.join("cmp"));
    assert_eq!(report["max_rel_diff"].as_f64(), Some(0.0), "{report}");
    assert!(cwd.join("cmp/losses.png").is_file(), "{}", text(&out));

    // A variable that names no home is an error of its own, not a fall-back.
    let nowhere = dir.path().join("nowhere");
    let out = compare(
        &exe,
        &cwd,
        &[],
        &[("TCH_HARNESS_HOME", nowhere.to_str().unwrap())],
    );
    assert_clean_error(&out, &format!("TCH_HARNESS_HOME={}", nowhere.display()));
}

/// No variable: the home is the folder above the binary's (`home/bin/tch-harness`), before the
/// checkout it was built in; `--python python3` is a wrapper of the venv's Python on `PATH`.
#[test]
fn compare_finds_the_home_above_the_exe_and_python_on_path() {
    let dir = tempdir();
    let (home, exe) = carried(dir.path(), "home/bin/tch-harness");
    let cwd = dir.path().join("work");
    let bin_dir = dir.path().join("pybin");
    std::fs::create_dir_all(&cwd).unwrap();
    std::fs::create_dir_all(&bin_dir).unwrap();
    let wrapper = bin_dir.join("python3");
    // A wrapper, not a symlink: exec'ing the venv's own path keeps the venv's packages.
    std::fs::write(
        &wrapper,
        format!("#!/bin/sh\nexec '{}' \"$@\"\n", venv_python().display()),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let env = [("PATH", path.as_str())];
    let out = compare(&exe, &cwd, &["--python", "python3"], &env);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let expected = format!(
        "reference: {} {}",
        wrapper.display(),
        home.join("scripts/reference.py").display()
    );
    assert!(stdout.contains(&expected), "{expected}: {}", text(&out));
    assert_eq!(
        compare_json(&cwd.join("cmp"))["max_rel_diff"].as_f64(),
        Some(0.0)
    );

    // diff draws its plot with the copy's scripts/plot_compare.py, its Python from PATH too.
    let diff = Command::new(&exe)
        .current_dir(&cwd)
        .env_remove("TCH_HARNESS_HOME")
        .env("PATH", &path)
        .args(["diff", "cmp/harness", "cmp/reference", "--tolerance", "0"])
        .args(["--python", "python3", "--out", "d"])
        .output()
        .unwrap();
    assert!(diff.status.success(), "{}", text(&diff));
    assert!(cwd.join("d/losses.png").is_file(), "{}", text(&diff));

    // A name that is on no PATH entry: one line naming it, before anything trains.
    let out = compare(&exe, &cwd, &["--python", "no-such-python3"], &env);
    assert_clean_error(&out, "no no-such-python3 on PATH");
}
