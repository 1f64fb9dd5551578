//! What a callback watches: a metric of the epoch record by name, and whether lower or higher is
//! better (Lightning's `monitor` and `mode`).
use serde::{Deserialize, Serialize};

use crate::call_spec::CallSpec;
use crate::error::{quote, Error, Result};
use crate::metrics::{MetricSpec, METRIC_NAMES};
use crate::run_state::EpochRecord;

/// The record's metrics a callback may watch, besides `eval_{name}` for each `--metrics` name
/// (`eval_macro_f1`, `eval_top5_accuracy`, `eval_perplexity`: Lightning's logged-metric names).
/// A metric added to `EpochRecord` becomes watchable by adding its name here: [`metric`] finds
/// any numeric field by name.
pub const MONITORABLE: &[&str] = &[
    "train_loss",
    "eval_loss",
    "eval_accuracy",
    "lr",
    "grad_norm_max",
];

/// `mode='min'` or `mode='max'`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Min,
    Max,
}

impl Mode {
    /// `mode=` of `spec` ('min' unless given).
    pub(super) fn of(spec: &CallSpec) -> Result<Mode> {
        match spec.str("mode")? {
            None | Some("min") => Ok(Mode::Min),
            Some("max") => Ok(Mode::Max),
            Some(other) => Err(spec.error(&format!(
                "mode must be 'min' or 'max', got '{}'",
                quote(other)
            ))),
        }
    }

    /// Lightning's `monitor_op`: `torch.lt` for min, `torch.gt` for max (false with a NaN).
    pub fn better(self, a: f64, b: f64) -> bool {
        match self {
            Mode::Min => a < b,
            Mode::Max => a > b,
        }
    }

    /// The worst possible score (the start of a search for the best).
    pub fn worst(self) -> f64 {
        match self {
            Mode::Min => f64::INFINITY,
            Mode::Max => f64::NEG_INFINITY,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Mode::Min => "min",
            Mode::Max => "max",
        }
    }
}

/// `monitor=` of `spec`, checked against [`MONITORABLE`].
pub(super) fn monitor_of(spec: &CallSpec) -> Result<Option<String>> {
    let Some(name) = spec.str("monitor")? else {
        return Ok(None);
    };
    if !MONITORABLE.contains(&name) && eval_metric(name).is_none() {
        return Err(spec.error(&format!(
            "unknown monitor '{}' (one of: {}, or eval_ and a --metrics name: {METRIC_NAMES})",
            quote(name),
            MONITORABLE.join(", ")
        )));
    }
    Ok(Some(name.to_string()))
}

/// The `--metrics` name a monitor `eval_{name}` watches (`eval_macro_f1`: `macro_f1`).
fn eval_metric(monitor: &str) -> Option<MetricSpec> {
    monitor.strip_prefix("eval_")?.parse().ok()
}

/// An error when `monitor` needs the eval split and the experiment has none, or watches a
/// metric that `metrics` (the run's `--metrics`) does not compute.
pub fn check_available(
    what: &str,
    monitor: &str,
    has_eval: bool,
    metrics: &[MetricSpec],
) -> Result<()> {
    if monitor.starts_with("eval_") && !has_eval {
        return Err(Error::Config(format!(
            "{what}: monitor '{monitor}' needs an eval split, and this experiment has none"
        )));
    }
    match eval_metric(monitor) {
        Some(spec) if !metrics.contains(&spec) => Err(Error::Config(format!(
            "{what}: monitor '{monitor}' needs --metrics {spec}"
        ))),
        _ => Ok(()),
    }
}

/// The value of metric `name` in `record`, `None` when the record does not have it: the typed
/// fields by name (NaN included, which JSON cannot carry), any other numeric field through the
/// record's JSON, so that metrics added to `EpochRecord` plug in by name.
pub fn metric(record: &EpochRecord, name: &str) -> Option<f64> {
    match name {
        "train_loss" => Some(record.train_loss),
        "eval_loss" => record.eval_loss,
        "eval_accuracy" => record.eval_accuracy,
        "lr" => record.lr,
        "grad_norm_max" => record.grad_norm_max,
        _ if eval_metric(name).is_some() => {
            record.eval_metrics.get(&name["eval_".len()..]).copied()
        }
        _ => serde_json::to_value(record).ok()?.get(name)?.as_f64(),
    }
}

/// The error of a strict callback whose metric is missing from epoch `epoch`'s record.
pub(super) fn missing(what: &str, monitor: &str, record: &EpochRecord) -> Error {
    let eval_metrics = record
        .eval_metrics
        .keys()
        .map(|name| format!("eval_{name}"));
    let available: Vec<String> = MONITORABLE
        .iter()
        .map(|name| name.to_string())
        .chain(eval_metrics)
        .filter(|name| metric(record, name).is_some())
        .collect();
    Error::Config(format!(
        "{what}: monitor '{monitor}' is not in epoch {}'s record (it has: {})",
        record.epoch,
        available.join(", ")
    ))
}
