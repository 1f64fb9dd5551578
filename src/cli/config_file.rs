//! `--config FILE` under the command line: the file's settings, the flags' values for what it
//! leaves out, and every flag given on the command line over both.
use std::path::Path;

use anyhow::Context;
use clap::parser::ValueSource;
use clap::ArgMatches;
use serde_json::{Map, Value};
use tch_harness::config::read_config_file;
use tch_harness::optim::ParamGroup;
use tch_harness::TrainConfig;

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

/// Flags whose configuration key is not their own name.
const RENAMED: &[(&str, &[&str])] = &[
    ("no_shuffle", &["shuffle"]),
    ("model", &["experiment", "model", "data"]),
    ("data", &["experiment", "model", "data"]),
    ("experiment", &["experiment", "model", "data"]),
];

/// `file`'s configuration with `flags` (the command line's configuration, defaults included)
/// filling what it leaves out and overriding it where a flag in `explicit` was given. The
/// optimizer: `--optimizer` replaces the file's; its keyword flags (`--lr`, …) edit it.
pub fn merge(
    file: &Path,
    flags: &TrainConfig,
    optimizer: &OptimizerArgs,
    param_groups: &[String],
    explicit: &[String],
) -> anyhow::Result<TrainConfig> {
    let Value::Object(mut merged) = read_config_file(file)? else {
        unreachable!("read_config_file returns an object")
    };
    let Value::Object(from_flags) = serde_json::to_value(flags)? else {
        unreachable!("a configuration serialises to an object")
    };
    for (key, value) in &from_flags {
        if !merged.contains_key(key) {
            merged.insert(key.clone(), value.clone());
        }
    }
    for id in explicit {
        let keys: Vec<&str> = match RENAMED.iter().find(|(flag, _)| flag == id) {
            Some((_, keys)) => keys.to_vec(),
            None if from_flags.contains_key(id.as_str()) => vec![id.as_str()],
            None if id == "param_group" => continue, // below, on the merged optimizer
            None => continue, // --optimizer's keyword flags, --config, --out: below or elsewhere
        };
        for key in keys {
            merged.insert(key.to_string(), from_flags[key].clone());
        }
    }
    if explicit.iter().any(|id| id == "optimizer") {
        merged.insert("optimizer".into(), from_flags["optimizer"].clone());
    } else if let Some(Value::Object(saved)) = merged.get_mut("optimizer") {
        optimizer.edit(saved, explicit)?;
    }
    let mut config: TrainConfig = serde_json::from_value(Value::Object(merged))
        .with_context(|| format!("{}: not a training configuration", file.display()))?;
    if explicit.iter().any(|id| id == "param_group") {
        // On top of the optimizer the file and flags make together.
        config.param_groups = param_groups
            .iter()
            .map(|g| ParamGroup::parse(g, &config.optimizer))
            .collect::<Result<_, _>>()?;
    }
    config.validate()?;
    Ok(config)
}

/// An optimizer object of a file, edited by the keyword flags given.
pub type OptimizerFields = Map<String, Value>;
