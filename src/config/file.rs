//! `train --config FILE`: a run's settings kept as a file, TOML or JSON, in the keys of
//! `config.json`'s `config` object (so a run's own `config.json` is a valid `--config`). Keys it
//! leaves out take the command line's values; an unknown key is an error naming it (checked when
//! the merged configuration is read as a [`TrainConfig`](super::TrainConfig)).
use std::path::Path;

use serde_json::Value;

use crate::error::{Error, Result};

/// The configuration object in `path`: a `.toml` file, or JSON (a run's `config.json`, whose
/// `config` object is taken, or the bare object).
pub fn read_config_file(path: &Path) -> Result<Value> {
    let text = crate::bounded::read_to_string(path, crate::bounded::CONFIG_LIMIT)
        .map_err(|e| Error::file(path, e))?;
    let value: Value = if path.extension().is_some_and(|e| e == "toml") {
        let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
            Error::file(path, format!("not valid TOML ({})", e.message()))
        })?;
        check_finite(path, "", &toml::Value::Table(table.clone()))?;
        serde_json::to_value(table).map_err(|e| Error::file(path, e))?
    } else {
        serde_json::from_str(&text)
            .map_err(|e| Error::file(path, format!("not valid JSON ({e})")))?
    };
    let value = match value {
        Value::Object(mut map) if map.get("config").is_some_and(Value::is_object) => {
            map.remove("config").expect("checked")
        }
        other => other,
    };
    if !value.is_object() {
        return Err(Error::file(
            path,
            "not a configuration (expected a table of settings)",
        ));
    }
    Ok(value)
}

/// TOML spells `nan` and `inf`, which JSON lacks (they would become `null`, which turns a
/// setting off): refused, naming the key, as the command line refuses them.
fn check_finite(path: &Path, key: &str, value: &toml::Value) -> Result<()> {
    match value {
        toml::Value::Float(v) if !v.is_finite() => Err(Error::file(
            path,
            format!("{key} = {v} is not a finite number"),
        )),
        toml::Value::Table(t) => t.iter().try_for_each(|(k, v)| {
            let name = if key.is_empty() {
                k.clone()
            } else {
                format!("{key}.{k}")
            };
            check_finite(path, &name, v)
        }),
        toml::Value::Array(items) => items.iter().try_for_each(|v| check_finite(path, key, v)),
        _ => Ok(()),
    }
}
