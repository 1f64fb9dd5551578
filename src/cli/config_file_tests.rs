//! `FLAG_KEYS` against every flag clap knows: each overrides its `--config` key.
use clap::{CommandFactory, FromArgMatches, Parser};
use serde_json::{json, Value};

use super::FLAG_KEYS;
use crate::cli::TrainArgs;

#[derive(Debug, Parser)]
struct Train {
    #[command(flatten)]
    args: TrainArgs,
}

/// For each flag that sets a key, one line: a `--config` file (`file`), a command line giving
/// another value (`args`), and the key (`pointer`, a JSON pointer into config.json's `config`)
/// with the flag's value (`want`).
const CASES: &str = include_str!("flag_overrides.jsonl");

fn cases() -> Vec<Value> {
    CASES
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}")))
        .collect()
}

/// Every flag of `train` is in `FLAG_KEYS`; every one that sets a key overrides a
/// `--config` file's value for it. A renamed flag (a new clap id) fails here.
#[test]
fn every_flag_overrides_its_config_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = cases();
    for case in &cases {
        let flag = case["flag"].as_str().unwrap();
        assert!(
            FLAG_KEYS
                .iter()
                .any(|(id, keys)| *id == flag && !keys.is_empty()),
            "a case for --{flag}, which sets no key"
        );
    }
    let command = Train::command();
    for arg in command.get_arguments() {
        let id = arg.get_id().as_str();
        let keys = FLAG_KEYS
            .iter()
            .find(|(flag, _)| *flag == id)
            .unwrap_or_else(|| panic!("--{id} is not in FLAG_KEYS"))
            .1;
        if keys.is_empty() {
            continue;
        }
        let case = cases
            .iter()
            .find(|c| c["flag"] == id)
            .unwrap_or_else(|| panic!("--{id} sets {keys:?}: add a line to flag_overrides.jsonl"));
        let (file, pointer, want) = (
            &case["file"],
            case["pointer"].as_str().unwrap(),
            &case["want"],
        );
        let path = dir.path().join(format!("{id}.json"));
        std::fs::write(&path, file.to_string()).unwrap();
        let flags = case["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap());
        let argv: Vec<&str> = ["train", "--config", path.to_str().unwrap()]
            .into_iter()
            .chain(flags)
            .collect();
        let matches = Train::command().try_get_matches_from(&argv).unwrap();
        let train = Train::from_arg_matches(&matches).unwrap();
        let config = train
            .args
            .resolve(&matches)
            .unwrap_or_else(|e| panic!("{argv:?}: {e:#}"));
        let written = serde_json::to_value(&config).unwrap();
        assert_eq!(written.pointer(pointer), Some(want), "--{id} over {file}");
    }
}

/// `deterministic` as `train` resolves it: on with `--trace` unless given; a `--config` file's
/// value kept unless the command line gives `--deterministic` or `--trace`.
#[test]
fn deterministic_follows_the_trace_unless_given() {
    let dir = tempfile::tempdir().unwrap();
    let resolved = |file: Option<Value>, flags: &[&str]| {
        let mut argv = vec!["train".to_string()];
        if let Some(file) = file {
            let path = dir.path().join("c.json");
            std::fs::write(&path, file.to_string()).unwrap();
            argv.extend(["--config".into(), path.to_str().unwrap().to_string()]);
        }
        argv.extend(flags.iter().map(|f| f.to_string()));
        let matches = Train::command().try_get_matches_from(&argv).unwrap();
        let train = Train::from_arg_matches(&matches).unwrap();
        let config = train.args.resolve(&matches).unwrap();
        serde_json::to_value(&config).unwrap()["deterministic"].clone()
    };
    assert_eq!(resolved(None, &[]), json!(false));
    assert_eq!(resolved(None, &["--trace"]), json!(true));
    assert_eq!(resolved(None, &["--deterministic"]), json!(true));
    assert_eq!(
        resolved(None, &["--trace", "--deterministic", "false"]),
        json!(false)
    );
    assert_eq!(
        resolved(None, &["--trace", "--deterministic=off"]),
        json!(false)
    );
    let traced = json!({"experiment": "linear-regression", "trace": true});
    assert_eq!(
        resolved(Some(traced), &[]),
        json!(true),
        "a file without the key"
    );
    let off = json!({"experiment": "linear-regression", "trace": true, "deterministic": false});
    assert_eq!(
        resolved(Some(off.clone()), &[]),
        json!(false),
        "the file's value"
    );
    assert_eq!(
        resolved(Some(off), &["--trace"]),
        json!(true),
        "an explicit --trace"
    );
}
