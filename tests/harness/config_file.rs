//! `train --config FILE`: TOML or JSON in config.json's keys, flags on the command line over it,
//! a run's own config.json as a valid file, unknown keys refused.
use serde_json::{json, Value};

use crate::common::{assert_clean_error, read_jsonl, run_bin, tempdir, text};
use crate::compare::compare_json;

fn config_of(run: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(run.join("config.json")).unwrap();
    serde_json::from_str::<Value>(&text).unwrap()["config"].clone()
}

/// metrics.jsonl without the wall-clock fields.
fn losses(run: &std::path::Path) -> Vec<Value> {
    read_jsonl(&run.join("metrics.jsonl"))
        .into_iter()
        .map(|mut r| {
            for key in ["seconds", "train_seconds", "elapsed_seconds"] {
                r.as_object_mut().unwrap().remove(key);
            }
            r
        })
        .collect()
}

const TOML: &str = r#"
experiment = "breast-cancer"
epochs = 2
batch_size = 50
threads = 1
device = "cpu"
scheduler = "StepLR(step_size=1, gamma=0.5)"

[optimizer]
kind = "adam"
lr = 0.01
betas = [0.8, 0.99]
"#;

#[test]
fn a_toml_file_with_flags_over_it() {
    let dir = tempdir();
    let file = dir.path().join("run.toml");
    std::fs::write(&file, TOML).unwrap();
    let run = dir.path().join("run");
    let args = [
        "train",
        "--config",
        file.to_str().unwrap(),
        "--beta2",
        "0.95",
        "--seed",
        "3",
    ];
    let out = run_bin(&[&args[..], &["--out", run.to_str().unwrap()]].concat());
    assert!(out.status.success(), "{}", text(&out));
    let config = config_of(&run);
    let want = json!({"experiment": "breast-cancer", "epochs": 2, "batch_size": 50, "seed": 3,
        "scheduler": "StepLR(step_size=1, gamma=0.5)",
        "optimizer": {"kind": "adam", "lr": 0.01, "betas": [0.8, 0.95]}});
    for (key, value) in want.as_object().unwrap() {
        match value.as_object() {
            Some(fields) => {
                for (k, v) in fields {
                    assert_eq!(&config[key][k], v, "{key}.{k}");
                }
            }
            None => assert_eq!(&config[key], value, "{key}"),
        }
    }
    // Keys the file leaves out take the flags' defaults.
    assert_eq!(config["checkpoint_every"], 1);
    assert_eq!(config["shuffle"], true);
}

/// A run's config.json, given back as --config, trains the same run to the same bits; a flag
/// changes only what it names.
#[test]
fn a_runs_config_json_repeats_the_run() {
    let dir = tempdir();
    let first = dir.path().join("first");
    let flags = [
        "train",
        "--experiment",
        "linear-regression",
        "--epochs",
        "3",
        "--optimizer",
        "RMSprop(lr=0.001, momentum=0.5)",
        "--clip-grad-norm",
        "0.5",
        "--threads",
        "1",
        "--device",
        "cpu",
        "--seed",
        "5",
    ];
    let out = run_bin(&[&flags[..], &["--out", first.to_str().unwrap()]].concat());
    assert!(out.status.success(), "{}", text(&out));
    let again = dir.path().join("again");
    let config = first.join("config.json");
    let args = [
        "train",
        "--config",
        config.to_str().unwrap(),
        "--out",
        again.to_str().unwrap(),
    ];
    let out = run_bin(&args);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(losses(&again), losses(&first));
    assert_eq!(config_of(&again), config_of(&first));

    let longer = dir.path().join("longer");
    let args = [
        &args[..2],
        &[config.to_str().unwrap(), "--epochs", "4", "--out"],
        &[longer.to_str().unwrap()],
    ]
    .concat();
    let out = run_bin(&args);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(losses(&longer)[..3], losses(&first)[..]);
    assert_eq!(config_of(&longer)["epochs"], 4);
}

#[test]
fn compare_takes_a_config_file() {
    let dir = tempdir();
    let file = dir.path().join("run.toml");
    std::fs::write(&file, TOML).unwrap();
    let cmp = dir.path().join("cmp");
    let args = [
        "compare",
        "--config",
        file.to_str().unwrap(),
        "--out",
        cmp.to_str().unwrap(),
    ];
    let out = run_bin(&args);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(compare_json(&cmp)["max_rel_diff"], json!(0.0));
}

#[test]
fn bad_config_files_are_one_line_errors() {
    let dir = tempdir();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_string()
    };
    let never = dir.path().join("never");
    let cases = [
        (write("typo.toml", "epochz = 3\n"), "unknown field `epochz`"),
        (write("bad.toml", "epochs = [\n"), "not valid TOML"),
        (write("bad.json", "{\"epochs\": 2,"), "not valid JSON"),
        (write("list.json", "[1, 2]"), "not a configuration"),
        (
            write("kind.toml", "[optimizer]\nkind = \"lion\"\n"),
            "unknown optimizer 'lion'",
        ),
        (
            write("zero.toml", "epochs = 0\n"),
            "--epochs must be at least 1",
        ),
        ("/nonexistent/run.toml".to_string(), "/nonexistent/run.toml"),
    ];
    for (file, needle) in cases {
        let out = run_bin(&["train", "--config", &file, "--out", never.to_str().unwrap()]);
        assert_clean_error(&out, needle);
        assert!(!never.exists(), "{file}: a run directory was created");
    }
    let adam = write("adam.toml", "[optimizer]\nkind = \"adam\"\n");
    let out = run_bin(&["train", "--config", &adam, "--momentum", "0.9"]);
    assert_clean_error(
        &out,
        "--momentum does not apply to the optimizer \"adam\" of --config",
    );
}
