//! `--resume` of a built-in experiment's run whose config.json was damaged or holds values the
//! harness does not take.
use std::path::Path;

use super::run_dir::copy_dir;
use super::runner::{resume_case, Case};

/// Copies of `base` whose config.json is truncated, not JSON, or holds invalid values.
pub(super) fn config_cases(dir: &Path, base: &Path) -> Vec<Case> {
    let valid = std::fs::read_to_string(base.join("config.json")).unwrap();
    let mut variants: Vec<(String, String)> = (0..10)
        .map(|i| {
            let len = valid.len() * i / 10;
            (format!("truncated-{len}"), valid[..len].to_string())
        })
        .collect();
    variants.push(("not-json".into(), "\u{1}\u{2}garbage".into()));
    variants.push(("empty-object".into(), "{}".into()));
    variants.push(("null-config".into(), r#"{"config": null}"#.into()));
    // (name, text in the valid config.json, what it becomes)
    let edits = [
        ("epochs-string", "\"epochs\": 2", "\"epochs\": \"two\""),
        ("epochs-zero", "\"epochs\": 2", "\"epochs\": 0"),
        (
            "batch-negative",
            "\"batch_size\": 64",
            "\"batch_size\": -64",
        ),
        ("unknown-experiment", "\"digits-mlp\"", "\"mnist-cnn\""),
        ("bad-device", "\"device\": \"cpu\"", "\"device\": \"gpu7\""),
        ("bad-optimizer", "\"kind\": \"sgd\"", "\"kind\": \"lbfgs\""),
        ("lr-negative", "\"lr\": 0.05", "\"lr\": -0.05"),
    ];
    for (name, from, to) in edits {
        variants.push((name.into(), valid.replace(from, to)));
    }
    let mut cases = Vec::new();
    for (name, text) in variants {
        assert_ne!(text, valid, "variant {name} changed nothing");
        let run = dir.join(format!("config-{name}"));
        copy_dir(base, &run);
        std::fs::write(run.join("config.json"), text).unwrap();
        let needle = if name == "unknown-experiment" {
            "unknown experiment 'mnist-cnn'"
        } else {
            "config.json"
        };
        cases.push(resume_case(format!("config.json {name}"), run, needle));
    }
    cases
}
