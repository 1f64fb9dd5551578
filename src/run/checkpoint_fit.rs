//! Does a checkpoint fit the run it is resumed in? config.json is the run's identity: the
//! checkpoint records the configuration it was trained with, and a config.json edited since is
//! refused, except for the settings that do not change what is computed: `epochs` (to train
//! longer), `checkpoint_every`, `save_format` (the files the end writes), and where the files
//! `init` (`init_key`), `model` and `data` are (a moved folder; their contents are checked on
//! their own: sample counts, weight shapes). Another
//! learning rate, batch size, seed or optimizer would make a run whose config.json no longer
//! says how its weights were made. The optimizer's state
//! slots are checked as well, for checkpoints that predate the recorded configuration.
use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::config::TrainConfig;
use crate::error::{Error, Result};
use crate::tensor_io::NamedTensors;

/// The settings a resumed run may change in its config.json.
const MAY_CHANGE: &[&str] = &[
    "epochs",
    "checkpoint_every",
    "init",
    "model",
    "data",
    "metrics",
    "init_key",
    "save_format",
];

/// An error naming the first setting of `now` (config.json) that differs from `trained` (the
/// checkpoint's), unless it is one of [`MAY_CHANGE`].
pub(super) fn check_config(trained: &Value, now: &Value, last: &Path) -> Result<()> {
    let trained = &as_parsed(trained);
    let fixed = |config: &Value| match config {
        Value::Object(map) => Some(Value::Object(
            map.iter()
                .filter(|(key, _)| !MAY_CHANGE.contains(&key.as_str()))
                .map(|(key, value)| (key.clone(), value.clone()))
                .collect(),
        )),
        _ => None,
    };
    let (Some(trained), Some(now)) = (fixed(trained), fixed(now)) else {
        return Err(Error::file(
            last,
            "corrupt checkpoint configuration (not an object)",
        ));
    };
    let Some((key, was, is)) = first_difference("", Some(&trained), Some(&now)) else {
        return Ok(());
    };
    Err(Error::file(
        last,
        format!(
            "trained with {key} = {}, but config.json now says {}; a run keeps its configuration \
             (only {} may change)",
            shown(was),
            shown(is),
            MAY_CHANGE.join(", ")
        ),
    ))
}

/// `config` as the parse writes it back, so that a key added since the checkpoint was written
/// takes its default there as it does in config.json; a value the parse refuses stays as it is.
fn as_parsed(config: &Value) -> Value {
    TrainConfig::from_json(config.clone())
        .ok()
        .and_then(|parsed| serde_json::to_value(parsed).ok())
        .unwrap_or_else(|| config.clone())
}

/// The dotted path of the first place where `a` and `b` differ, with the two values there; an
/// object's `kind` (the optimizer's) comes before its other keys, which depend on it.
fn first_difference<'v>(
    path: &str,
    a: Option<&'v Value>,
    b: Option<&'v Value>,
) -> Option<(String, Option<&'v Value>, Option<&'v Value>)> {
    match (a, b) {
        (Some(Value::Object(a)), Some(Value::Object(b))) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort_by_key(|k| (*k != "kind", *k));
            keys.dedup();
            keys.into_iter().find_map(|k| {
                let inner = match path {
                    "" => k.clone(),
                    _ => format!("{path}.{k}"),
                };
                first_difference(&inner, a.get(k), b.get(k))
            })
        }
        (a, b) if a == b => None,
        (a, b) => Some((path.to_string(), a, b)),
    }
}

/// A value as the error line shows it: JSON, cut to a readable length.
fn shown(value: Option<&Value>) -> String {
    let Some(value) = value else {
        return "nothing".to_string();
    };
    let text = value.to_string();
    match text.char_indices().nth(60) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// An error when the optimizer, after loading the checkpoint's state, did not take all of it:
/// slots of another optimizer (Adam's `exp_avg` in an SGD run) or of other settings (AMSGrad's
/// `max_exp_avg_sq`) would otherwise be dropped without a word.
pub(super) fn check_optimizer_state(
    saved: &NamedTensors,
    loaded: &NamedTensors,
    last: &Path,
) -> Result<()> {
    let taken: BTreeSet<&str> = loaded.iter().map(|(n, _)| n.as_str()).collect();
    let left: Vec<&str> = saved
        .iter()
        .map(|(n, _)| n.as_str())
        .filter(|n| !taken.contains(n))
        .collect();
    if left.is_empty() {
        return Ok(());
    }
    let more = match left.len() {
        1 => String::new(),
        n => format!(" (and {} more)", n - 1),
    };
    Err(Error::file(
        last,
        format!(
            "optimizer state '{}'{more} does not fit the run's optimizer; the checkpoint was made with another one",
            left[0]
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_epochs_checkpoint_every_and_file_paths_may_change() {
        let last = Path::new("run/checkpoints/last.safetensors");
        let trained = json!({"epochs": 3, "batch_size": 64, "checkpoint_every": 1,
            "optimizer": {"kind": "sgd", "lr": 0.1}});
        let longer = json!({"epochs": 9, "batch_size": 64, "checkpoint_every": 5,
            "optimizer": {"kind": "sgd", "lr": 0.1}, "data": "moved/data.safetensors"});
        check_config(&trained, &longer, last).expect("epochs may change");
        let momentum = json!({"epochs": 3, "batch_size": 64, "checkpoint_every": 1,
            "optimizer": {"kind": "sgd", "lr": 0.1, "momentum": 0.9}});
        let err = check_config(&trained, &momentum, last)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("optimizer.momentum = nothing, but config.json now says 0.9"),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1);
        let adam = json!({"epochs": 3, "batch_size": 64, "checkpoint_every": 1,
            "optimizer": {"kind": "adam", "lr": 0.1, "amsgrad": false}});
        let err = check_config(&trained, &adam, last).unwrap_err().to_string();
        assert!(err.contains("optimizer.kind = \"sgd\""), "{err}");
    }

    /// A checkpoint from before the `torch.backends` keys fits a config.json that reads their
    /// defaults (a trace's run: deterministic); another value than the default does not.
    #[test]
    fn keys_a_checkpoint_predates_take_their_defaults() {
        use crate::experiment::{Builtin, ExperimentSource};
        use crate::optim::{OptimizerConfig, OptimizerKind};
        let last = Path::new("last.safetensors");
        let config = TrainConfig::builder(
            ExperimentSource::Builtin(Builtin::LinearRegression),
            OptimizerConfig::new(OptimizerKind::Sgd, 0.1),
        )
        .trace(true)
        .build()
        .unwrap();
        let now = serde_json::to_value(&config).unwrap();
        assert_eq!(now["deterministic"], json!(true), "on with the trace");
        let mut old = now.clone();
        for key in [
            "deterministic",
            "cudnn_benchmark",
            "cudnn_allow_tf32",
            "float32_matmul_precision",
        ] {
            old.as_object_mut().unwrap().remove(key).unwrap();
        }
        check_config(&old, &now, last).expect("the defaults fit");
        let mut no_tf32 = now.clone();
        no_tf32["cudnn_allow_tf32"] = json!(false);
        let err = check_config(&old, &no_tf32, last).unwrap_err().to_string();
        assert!(
            err.contains("trained with cudnn_allow_tf32 = true"),
            "{err}"
        );
    }

    #[test]
    fn state_the_optimizer_did_not_take_is_named() {
        let t = || tch::Tensor::zeros([1], tch::kind::FLOAT_CPU);
        let saved = vec![
            ("w.exp_avg".to_string(), t()),
            ("w.exp_avg_sq".to_string(), t()),
        ];
        let last = Path::new("last.safetensors");
        check_optimizer_state(&saved, &saved, last).expect("all taken");
        let err = check_optimizer_state(&saved, &Vec::new(), last)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("'w.exp_avg' (and 1 more) does not fit"),
            "{err}"
        );
    }
}
