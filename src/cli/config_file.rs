//! `--config FILE` under the command line: the file's settings, the flags' values for what it
//! leaves out, and every flag given on the command line over both. Both sides are objects in
//! `config.json`'s keys; [`FLAG_KEYS`] says which keys each flag sets (a test checks it against
//! every flag clap knows, so renaming a flag cannot silently stop its override).
use std::path::Path;

use clap::parser::ValueSource;
use clap::ArgMatches;
use serde_json::{Map, Value};
use tch_harness::config::read_config_file;

use super::optimizer_args::OptimizerArgs;

/// The flags (`--id`, as clap ids) given on the command line itself.
pub fn explicit_flags(matches: &ArgMatches) -> Vec<String> {
    matches
        .ids()
        // Group ids (the derive names them after the structs) are not flags.
        .filter(|id| id.as_str().starts_with(|c: char| c.is_ascii_lowercase()))
        .filter(|id| {
            matches!(
                matches.value_source(id.as_str()),
                Some(ValueSource::CommandLine)
            )
        })
        .map(|id| id.as_str().to_string())
        .collect()
}

/// Where the experiment is named: the three keys go together (a name, or `torchscript` with
/// its model and data).
const SOURCE: &[&str] = &["experiment", "model", "data"];

/// Every flag of `train` (clap id) and the `config.json` keys it sets; `[]` for flags that are
/// not settings. `optimizer` and `param_groups` are merged by `merge` itself: `--optimizer`
/// replaces the file's optimizer, its keyword flags edit it, `--param-group`s are parsed on it.
pub const FLAG_KEYS: &[(&str, &[&str])] = &[
    ("config", &[]),
    ("out", &[]),
    ("experiment", SOURCE),
    ("model", SOURCE),
    ("data", SOURCE),
    ("loss", &["loss"]),
    ("ignore_index", &["ignore_index"]),
    ("class_weights", &["class_weights"]),
    ("pos_weight", &["pos_weight"]),
    ("label_smoothing", &["label_smoothing"]),
    ("accumulate", &["accumulate"]),
    ("trace", &["trace"]),
    ("epochs", &["epochs"]),
    ("batch_size", &["batch_size"]),
    ("optimizer", &["optimizer"]),
    ("lr", &["optimizer"]),
    ("momentum", &["optimizer"]),
    ("dampening", &["optimizer"]),
    ("nesterov", &["optimizer"]),
    ("weight_decay", &["optimizer"]),
    ("beta1", &["optimizer"]),
    ("beta2", &["optimizer"]),
    ("eps", &["optimizer"]),
    ("amsgrad", &["optimizer"]),
    ("param_group", &["param_groups"]),
    ("seed", &["seed"]),
    ("device", &["device"]),
    ("threads", &["threads"]),
    ("init", &["init"]),
    ("no_shuffle", &["shuffle"]),
    ("checkpoint_every", &["checkpoint_every"]),
    ("on_nonfinite", &["on_nonfinite"]),
    ("loss_sync", &["loss_sync"]),
    ("scheduler", &["scheduler"]),
    ("scheduler_interval", &["scheduler_interval"]),
    ("clip_grad_norm", &["clip_grad_norm"]),
    ("clip_norm_type", &["clip_norm_type"]),
    ("clip_grad_value", &["clip_grad_value"]),
];

/// The keys flag `id` sets (none for a flag that is not `train`'s, e.g. `--resume`, `--nproc`).
fn keys_of(id: &str) -> &'static [&'static str] {
    FLAG_KEYS
        .iter()
        .find(|(flag, _)| *flag == id)
        .map_or(&[], |(_, keys)| keys)
}

/// `file`'s configuration with `flags` (the command line's, defaults included, in config.json's
/// keys) filling what it leaves out and overriding it where a flag in `explicit` was given. The
/// optimizer: `--optimizer` replaces the file's; its keyword flags (`--lr`, …) edit it. The
/// parameter groups are the caller's (they are parsed on the merged optimizer).
pub fn merge(
    file: &Path,
    flags: Map<String, Value>,
    optimizer: &OptimizerArgs,
    explicit: &[String],
) -> anyhow::Result<Map<String, Value>> {
    let Value::Object(mut merged) = read_config_file(file)? else {
        unreachable!("read_config_file returns an object")
    };
    for id in explicit {
        for key in keys_of(id) {
            match flags.get(*key) {
                Some(value) if !matches!(*key, "optimizer" | "param_groups") => {
                    merged.insert(key.to_string(), value.clone());
                }
                _ => {}
            }
        }
    }
    if explicit.iter().any(|id| id == "optimizer") {
        merged.insert("optimizer".into(), flags["optimizer"].clone());
    } else if let Some(Value::Object(saved)) = merged.get_mut("optimizer") {
        optimizer.edit(saved, explicit)?;
    }
    for (key, value) in flags {
        merged.entry(key).or_insert(value);
    }
    Ok(merged)
}

/// An optimizer object of a file, edited by the keyword flags given.
pub type OptimizerFields = Map<String, Value>;

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, FromArgMatches, Parser};
    use serde_json::{json, Value};

    use super::FLAG_KEYS;
    use crate::cli::TrainArgs;

    #[derive(Debug, Parser)]
    struct Train {
        #[command(flatten)]
        args: TrainArgs,
    }

    /// For each flag that sets a key: a `--config` file's value for it, the command line giving
    /// another, and the key (a JSON pointer into config.json's `config`) with the flag's value.
    fn case(id: &str) -> Option<(Value, Vec<&'static str>, &'static str, Value)> {
        let sgd = json!({"kind": "sgd", "lr": 0.1, "momentum": 0.5, "dampening": 0.1,
                         "weight_decay": 0.1});
        let adam = json!({"kind": "adam", "lr": 0.1, "betas": [0.8, 0.9], "eps": 1e-6});
        let lin = |key: &str, v: Value| json!({"experiment": "linear-regression", key: v});
        let digits = |key: &str, v: Value| json!({"experiment": "digits-mlp", key: v});
        Some(match id {
            "experiment" => (
                lin("epochs", json!(2)),
                vec!["--experiment", "digits-mlp"],
                "/experiment",
                json!("digits-mlp"),
            ),
            "model" | "data" => (
                lin("epochs", json!(2)),
                vec![
                    "--model",
                    "m.pt",
                    "--data",
                    "d.safetensors",
                    "--loss",
                    "mse",
                ],
                if id == "model" { "/model" } else { "/data" },
                json!(if id == "model" {
                    "m.pt"
                } else {
                    "d.safetensors"
                }),
            ),
            "loss" => (
                lin("loss", json!("l1")),
                vec!["--loss", "mse"],
                "/loss",
                json!("mse"),
            ),
            "ignore_index" => (
                digits("ignore_index", json!(1)),
                vec!["--ignore-index", "2"],
                "/ignore_index",
                json!(2),
            ),
            "class_weights" => (
                digits("class_weights", json!(vec![1.0; 10])),
                vec!["--class-weights", "2,2,2,2,2,2,2,2,2,2"],
                "/class_weights/0",
                json!(2.0),
            ),
            "pos_weight" => (
                json!({"experiment": "breast-cancer", "pos_weight": [1.0]}),
                vec!["--pos-weight", "2"],
                "/pos_weight/0",
                json!(2.0),
            ),
            "label_smoothing" => (
                digits("label_smoothing", json!(0.1)),
                vec!["--label-smoothing", "0.2"],
                "/label_smoothing",
                json!(0.2),
            ),
            "accumulate" => (
                lin("accumulate", json!(2)),
                vec!["--accumulate", "3"],
                "/accumulate",
                json!(3),
            ),
            "trace" => (
                lin("trace", json!(false)),
                vec!["--trace"],
                "/trace",
                json!(true),
            ),
            "epochs" => (
                lin("epochs", json!(2)),
                vec!["--epochs", "3"],
                "/epochs",
                json!(3),
            ),
            "batch_size" => (
                lin("batch_size", json!(8)),
                vec!["--batch-size", "9"],
                "/batch_size",
                json!(9),
            ),
            "optimizer" => (
                lin("optimizer", sgd),
                vec!["--optimizer", "adam"],
                "/optimizer/kind",
                json!("adam"),
            ),
            "lr" => (
                lin("optimizer", sgd),
                vec!["--lr", "0.2"],
                "/optimizer/lr",
                json!(0.2),
            ),
            "momentum" => (
                lin("optimizer", sgd),
                vec!["--momentum", "0.7"],
                "/optimizer/momentum",
                json!(0.7),
            ),
            "dampening" => (
                lin("optimizer", sgd),
                vec!["--dampening", "0.2"],
                "/optimizer/dampening",
                json!(0.2),
            ),
            "nesterov" => (
                lin("optimizer", json!({"kind": "sgd", "momentum": 0.5})),
                vec!["--nesterov"],
                "/optimizer/nesterov",
                json!(true),
            ),
            "weight_decay" => (
                lin("optimizer", sgd),
                vec!["--weight-decay", "0.2"],
                "/optimizer/weight_decay",
                json!(0.2),
            ),
            "beta1" => (
                lin("optimizer", adam),
                vec!["--beta1", "0.7"],
                "/optimizer/betas/0",
                json!(0.7),
            ),
            "beta2" => (
                lin("optimizer", adam),
                vec!["--beta2", "0.95"],
                "/optimizer/betas/1",
                json!(0.95),
            ),
            "eps" => (
                lin("optimizer", adam),
                vec!["--eps", "1e-7"],
                "/optimizer/eps",
                json!(1e-7),
            ),
            "amsgrad" => (
                lin("optimizer", adam),
                vec!["--amsgrad"],
                "/optimizer/amsgrad",
                json!(true),
            ),
            "param_group" => (
                lin("optimizer", sgd),
                vec!["--param-group", "*.bias: lr=0.3"],
                "/param_groups/0/optimizer/lr",
                json!(0.3),
            ),
            "seed" => (
                lin("seed", json!(1)),
                vec!["--seed", "2"],
                "/seed",
                json!(2),
            ),
            "device" => (
                lin("device", json!("cuda")),
                vec!["--device", "cpu"],
                "/device",
                json!("cpu"),
            ),
            "threads" => (
                lin("threads", json!(1)),
                vec!["--threads", "2"],
                "/threads",
                json!(2),
            ),
            "init" => (
                lin("init", json!("a.safetensors")),
                vec!["--init", "b.safetensors"],
                "/init",
                json!("b.safetensors"),
            ),
            "no_shuffle" => (
                lin("shuffle", json!(true)),
                vec!["--no-shuffle"],
                "/shuffle",
                json!(false),
            ),
            "checkpoint_every" => (
                lin("checkpoint_every", json!(2)),
                vec!["--checkpoint-every", "3"],
                "/checkpoint_every",
                json!(3),
            ),
            "on_nonfinite" => (
                lin("on_nonfinite", json!("stop")),
                vec!["--on-nonfinite", "skip-batch"],
                "/on_nonfinite",
                json!("skip-batch"),
            ),
            "loss_sync" => (
                lin("loss_sync", json!("batch")),
                vec!["--loss-sync", "epoch"],
                "/loss_sync",
                json!("epoch"),
            ),
            "scheduler" => (
                lin("scheduler", json!("StepLR(step_size=1)")),
                vec!["--scheduler", "StepLR(step_size=2)"],
                "/scheduler",
                json!("StepLR(step_size=2)"),
            ),
            "scheduler_interval" => (
                lin("scheduler_interval", json!("epoch")),
                vec!["--scheduler-interval", "batch"],
                "/scheduler_interval",
                json!("batch"),
            ),
            "clip_grad_norm" => (
                lin("clip_grad_norm", json!(1.0)),
                vec!["--clip-grad-norm", "2"],
                "/clip_grad_norm",
                json!(2.0),
            ),
            "clip_norm_type" => (
                lin("clip_norm_type", json!(2.0)),
                vec!["--clip-norm-type", "inf"],
                "/clip_norm_type",
                json!("inf"),
            ),
            "clip_grad_value" => (
                lin("clip_grad_value", json!(1.0)),
                vec!["--clip-grad-value", "2"],
                "/clip_grad_value",
                json!(2.0),
            ),
            _ => return None,
        })
    }

    /// Every flag of `train` is in `FLAG_KEYS`; every one that sets a key overrides a
    /// `--config` file's value for it. A renamed flag (a new clap id) fails here.
    #[test]
    fn every_flag_overrides_its_config_key() {
        let dir = tempfile::tempdir().unwrap();
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
            let (file, flags, pointer, want) =
                case(id).unwrap_or_else(|| panic!("--{id} sets {keys:?}: add a case"));
            let path = dir.path().join(format!("{id}.json"));
            std::fs::write(&path, file.to_string()).unwrap();
            let path = path.to_str().unwrap();
            let argv = [&["train", "--config", path][..], &flags].concat();
            let matches = Train::command().try_get_matches_from(&argv).unwrap();
            let train = Train::from_arg_matches(&matches).unwrap();
            let config = train
                .args
                .resolve(&matches)
                .unwrap_or_else(|e| panic!("{argv:?}: {e:#}"));
            let written = serde_json::to_value(&config).unwrap();
            assert_eq!(written.pointer(pointer), Some(&want), "--{id} over {file}");
        }
    }
}
