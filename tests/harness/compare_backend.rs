//! `compare --backend`: the harness's c10d backend, as `train --backend` names it; with one
//! process the harness trains as a group of one on it.
use crate::common::{assert_clean_error, text};
use crate::compare::{compare_json, run_compare};

/// A Gloo group of one computes what one process computes: no difference at all.
#[test]
fn compare_with_gloo_as_a_group_of_one_is_identical() {
    let (dir, out) = run_compare(&[
        "--experiment",
        "breast-cancer",
        "--nproc",
        "1",
        "--backend",
        "gloo",
        "--tolerance",
        "0",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let report = compare_json(&dir.path().join("cmp"));
    assert_eq!(report["max_rel_diff"].as_f64(), Some(0.0), "{report}");
    let harness = std::fs::read_to_string(dir.path().join("cmp/harness/config.json")).unwrap();
    let harness: serde_json::Value = serde_json::from_str(&harness).unwrap();
    assert_eq!(harness["backend"], "gloo", "{harness}");
    assert_eq!(harness["world_size"], 1, "{harness}");
}

/// NCCL on the CPU, or a backend that does not exist: one line, before the reference trains.
#[test]
fn compare_refuses_nccl_on_the_cpu_and_unknown_backends() {
    let (dir, out) = run_compare(&["--backend", "nccl"]);
    assert_clean_error(&out, "--backend nccl");
    assert!(!dir.path().join("cmp/reference").exists(), "{}", text(&out));
    let (_, out) = run_compare(&["--backend", "mpi"]);
    assert_clean_error(&out, "--backend mpi: expected gloo or nccl");
}
