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
    // An explicit --trace also sets `deterministic` again (to its flag, or on with the trace).
    ("trace", &["trace", "deterministic"]),
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
    ("precision", &["precision"]),
    ("deterministic", &["deterministic"]),
    ("cudnn_benchmark", &["cudnn_benchmark"]),
    ("cudnn_allow_tf32", &["cudnn_allow_tf32"]),
    ("float32_matmul_precision", &["float32_matmul_precision"]),
    ("init", &["init"]),
    ("init_key", &["init_key"]),
    ("save_format", &["save_format"]),
    ("no_shuffle", &["shuffle"]),
    ("checkpoint_every", &["checkpoint_every"]),
    ("on_nonfinite", &["on_nonfinite"]),
    ("loss_sync", &["loss_sync"]),
    ("scheduler", &["scheduler"]),
    ("scheduler_interval", &["scheduler_interval"]),
    ("clip_grad_norm", &["clip_grad_norm"]),
    ("clip_norm_type", &["clip_norm_type"]),
    ("clip_grad_value", &["clip_grad_value"]),
    ("metrics", &["metrics"]),
    ("ema", &["ema"]),
    ("ema_use_buffers", &["ema_use_buffers"]),
    ("swa", &["swa"]),
    ("early_stopping", &["early_stopping"]),
    ("checkpoint", &["model_checkpoint"]),
    ("logger", &["logger"]),
    ("log_every_n_steps", &["log_every_n_steps"]),
    ("grad_scaler", &["grad_scaler"]),
    ("sync_batchnorm", &["sync_batchnorm"]),
    ("bucket_cap_mb", &["bucket_cap_mb"]),
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
#[path = "config_file_tests.rs"]
mod tests;
