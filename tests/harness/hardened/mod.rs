//! Hardened input: hundreds of malformed files and impossible flag combinations, each fed to the
//! real binary. Every one must end in a short error and a non-zero exit — no panic, no abort, no
//! C++ backtrace — and leave every file of the run directory it touched as it was.
//!
//! Two tests share the runner: the built-in experiments' inputs (`--init`, checkpoints,
//! config.json, flags) and the user's own files (`--data`, `--model`, `--init`/`--weights`,
//! resumed TorchScript runs).

// The runner and what the cases are made from.
mod corrupt;
mod run_dir;
mod runner;

// The built-in experiments' inputs.
mod checkpoints;
mod config;
mod experiment_init;
mod flags;

// The user's own files.
mod class_indices;
mod data_dtypes;
mod data_files;
mod data_shapes;
mod model_files;
mod nonfinite_data;
mod odd_modules;
mod own_cases;
mod resume_files;
mod tensor_edits;
mod weight_files;

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::tempdir;

/// Malformed cases run by every hardened test so far, and how many tests have reported.
static CASES: AtomicUsize = AtomicUsize::new(0);
static TESTS: AtomicUsize = AtomicUsize::new(0);
/// The hardened tests (the two below).
const HARDENED_TESTS: usize = 2;

/// Prints a test's count of malformed cases and, once every hardened test has reported, the
/// total (both tests run in one process; `--nocapture` shows it).
fn report(test: &str, count: usize) {
    let total = CASES.fetch_add(count, Ordering::SeqCst) + count;
    eprintln!("{test}: {count} malformed cases, each a clean error");
    if TESTS.fetch_add(1, Ordering::SeqCst) + 1 == HARDENED_TESTS {
        eprintln!("hardened input: {total} malformed cases in all, each a clean error");
    }
}

/// The built-in experiments' inputs: damaged `--init` files, damaged checkpoints and config.json
/// of a run to `--resume`, and impossible flags.
#[test]
fn malformed_inputs_give_clean_errors_and_damage_nothing() {
    let dir = tempdir();
    let base = run_dir::finished_run(dir.path(), "digits-mlp");
    let other = run_dir::finished_run(dir.path(), "breast-cancer");
    let mut cases = experiment_init::init_file_cases(dir.path(), &base);
    cases.extend(checkpoints::checkpoint_cases(dir.path(), &base, &other));
    cases.extend(config::config_cases(dir.path(), &base));
    cases.extend(flags::flag_cases(dir.path(), &base));
    let count = runner::run_cases(cases);
    report("hardened", count);
    assert!(count >= 200, "only {count} cases");
}

/// The user's own files: malformed `--data` and `--model` files, data that does not fit its
/// model or loss, `--init`/`--weights` for another model, and TorchScript runs whose files were
/// damaged before `--resume`. Each goes through the real binary (`train`, and `eval` for a
/// representative of each kind) and must end in one short error naming the file, key or shape —
/// no panic, no C++ backtrace, no run directory (but for three modules that fail only on a full
/// batch), and a resumed run directory left byte for byte as it was.
///
/// Valid base files are made once: the TorchScript fixture (`own_fixture`), one Python call for
/// the odd TorchScript modules (`odd_modules`), and data files derived in Rust with
/// `write_tensors`.
#[test]
fn malformed_files_give_clean_errors_and_damage_nothing() {
    let dir = tempdir();
    let odd = odd_modules::make(dir.path());
    let mut cases = own_cases::Cases::new(dir.path());
    let (mse, mse_file, mse_data) = tensor_edits::base("mse");
    data_files::damaged_data_cases(&mut cases, &mse, &mse_file);
    nonfinite_data::nonfinite_cases(&mut cases, &mse, &mse_data);
    data_dtypes::dtype_cases(&mut cases);
    class_indices::class_range_cases(&mut cases);
    data_shapes::shape_cases(&mut cases);
    model_files::model_cases(&mut cases, &odd);
    weight_files::init_cases(&mut cases, &odd);
    resume_files::resume_cases(&mut cases, &odd);
    let count = runner::run_cases(cases.list);
    report("hardened_files", count);
    assert!(count >= 120, "only {count} cases");
}
