//! The comparison itself: each epoch's values from both runs, side by side, and how far apart they
//! are. Pure arithmetic on `metrics.jsonl` records, so it is tested without running anything.
use serde_json::{json, Value};

use crate::error::{Error, Result};

/// The values `compare` checks, as `metrics.jsonl` names them.
pub const COMPARED: [&str; 3] = ["train_loss", "eval_loss", "eval_accuracy"];
/// The averaged weights' values (`--ema`, `--swa`), compared too where either run has them.
pub const AVERAGED: [&str; 4] = [
    "ema_eval_loss",
    "ema_eval_accuracy",
    "swa_eval_loss",
    "swa_eval_accuracy",
];

/// `|a - b| / max(|a|, |b|)`: 0 when the two are equal (0 and -0 included), infinite when they
/// differ and either is not finite (a NaN never equals anything).
pub fn relative_difference(a: f64, b: f64) -> f64 {
    if a == b {
        0.0
    } else if !a.is_finite() || !b.is_finite() {
        f64::INFINITY
    } else {
        (a - b).abs() / a.abs().max(b.abs())
    }
}

/// One value of one epoch in both runs; `None` where a run did not record it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pair {
    pub harness: Option<f64>,
    pub reference: Option<f64>,
}

impl Pair {
    /// `|harness - reference|`; `None` when neither run has the value, infinite when one lacks it.
    pub fn abs_diff(&self) -> Option<f64> {
        match (self.harness, self.reference) {
            (Some(h), Some(r)) if h == r => Some(0.0),
            (Some(h), Some(r)) => Some((h - r).abs()),
            (None, None) => None,
            _ => Some(f64::INFINITY),
        }
    }

    /// [`relative_difference`]; 0 when neither run has the value (nothing to compare), infinite
    /// when only one has it.
    pub fn rel_diff(&self) -> f64 {
        match (self.harness, self.reference) {
            (Some(h), Some(r)) => relative_difference(h, r),
            (None, None) => 0.0,
            _ => f64::INFINITY,
        }
    }

    /// `{"harness", "reference", "abs_diff", "rel_diff"}`; absent or infinite values are `null`.
    pub fn to_json(&self) -> Value {
        json!({
            "harness": self.harness,
            "reference": self.reference,
            "abs_diff": self.abs_diff(),
            "rel_diff": self.rel_diff(),
        })
    }
}

/// One epoch of both runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// 1-based.
    pub epoch: usize,
    pub train_loss: Pair,
    pub eval_loss: Pair,
    pub eval_accuracy: Pair,
    /// `eval_metrics` (`--metrics`) by name, every name either run recorded.
    pub eval_metrics: Vec<(String, Pair)>,
    /// In [`AVERAGED`] order.
    pub averaged: [Pair; 4],
}

impl Row {
    /// The compared values in [`COMPARED`] order.
    pub fn pairs(&self) -> [Pair; 3] {
        [self.train_loss, self.eval_loss, self.eval_accuracy]
    }

    /// The largest relative difference of this epoch (the averaged weights' values included).
    pub fn max_rel_diff(&self) -> f64 {
        let metrics = self.eval_metrics.iter().map(|(_, pair)| *pair);
        let all = self.pairs().into_iter().chain(self.averaged).chain(metrics);
        all.map(|p| p.rel_diff()).fold(0.0, f64::max)
    }

    /// `{"epoch", "train_loss": {…}, "eval_loss": {…}, "eval_accuracy": {…}}`.
    pub fn to_json(&self) -> Value {
        let mut row = json!({ "epoch": self.epoch });
        for (name, pair) in COMPARED.iter().zip(self.pairs()) {
            row[*name] = pair.to_json();
        }
        if !self.eval_metrics.is_empty() {
            let metrics = self
                .eval_metrics
                .iter()
                .map(|(name, pair)| (name.clone(), pair.to_json()));
            row["eval_metrics"] = Value::Object(metrics.collect());
        }
        for (name, pair) in AVERAGED.iter().zip(self.averaged) {
            if pair.abs_diff().is_some() {
                row[*name] = pair.to_json();
            }
        }
        row
    }
}

/// What the two sides are called in the table's headings, in error messages and in the plot's
/// legend. `compare.json`'s rows key them `harness` and `reference` whatever their labels (`diff`
/// puts run A on the harness side, run B on the reference side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Labels {
    pub harness: String,
    pub reference: String,
}

impl Default for Labels {
    /// `harness` and `reference`, as `compare` runs them.
    fn default() -> Self {
        Labels {
            harness: "harness".into(),
            reference: "reference".into(),
        }
    }
}

/// Both runs, epoch by epoch, against a tolerance.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub rows: Vec<Row>,
    /// Largest relative difference allowed.
    pub tolerance: f64,
    pub labels: Labels,
}

impl Comparison {
    /// The largest relative difference over every epoch and every compared value.
    pub fn max_rel_diff(&self) -> f64 {
        self.rows.iter().map(Row::max_rel_diff).fold(0.0, f64::max)
    }

    /// Whether every value is within the tolerance.
    pub fn passed(&self) -> bool {
        self.max_rel_diff() <= self.tolerance
    }

    /// What `compare.json` holds about the numbers (`max_rel_diff` is `null` when infinite).
    pub fn to_json(&self) -> Value {
        json!({
            "max_rel_diff": self.max_rel_diff(),
            "tolerance": self.tolerance,
            "passed": self.passed(),
            "compared": COMPARED,
            "labels": { "harness": self.labels.harness, "reference": self.labels.reference },
            "rows": self.rows.iter().map(Row::to_json).collect::<Vec<_>>(),
        })
    }
}

/// Checks a tolerance given by the user.
pub fn validate_tolerance(tolerance: f64) -> Result<()> {
    if tolerance.is_finite() && tolerance >= 0.0 {
        Ok(())
    } else {
        Err(Error::Config(format!(
            "--tolerance must be finite and >= 0, got {tolerance}"
        )))
    }
}

/// Lines up two runs' `metrics.jsonl` records epoch by epoch. Both must hold the same epochs, in
/// order, each with a numeric `train_loss`.
pub fn compare_records(
    harness: &[Value],
    reference: &[Value],
    tolerance: f64,
) -> Result<Comparison> {
    compare_labelled(harness, reference, tolerance, Labels::default())
}

/// [`compare_records`] with the sides named by `labels` (in its errors too).
pub fn compare_labelled(
    harness: &[Value],
    reference: &[Value],
    tolerance: f64,
    labels: Labels,
) -> Result<Comparison> {
    validate_tolerance(tolerance)?;
    if harness.len() != reference.len() {
        return Err(Error::Data(format!(
            "{} recorded {} epochs but {} {}",
            labels.harness,
            harness.len(),
            labels.reference,
            reference.len()
        )));
    }
    let rows = harness
        .iter()
        .zip(reference)
        .enumerate()
        .map(|(i, (h, r))| {
            let epoch = i + 1;
            for (side, record) in [(&labels.harness, h), (&labels.reference, r)] {
                let recorded = record.get("epoch").and_then(Value::as_u64);
                if recorded != Some(epoch as u64) {
                    return Err(Error::Data(format!(
                        "{side} record {epoch} has epoch {recorded:?}, expected {epoch}"
                    )));
                }
                if number(record, "train_loss").is_none() {
                    return Err(Error::Data(format!(
                        "{side} record of epoch {epoch} has no numeric train_loss"
                    )));
                }
            }
            let pair = |key: &str| Pair {
                harness: number(h, key),
                reference: number(r, key),
            };
            Ok(Row {
                epoch,
                train_loss: pair("train_loss"),
                eval_loss: pair("eval_loss"),
                eval_accuracy: pair("eval_accuracy"),
                eval_metrics: metric_pairs(h, r),
                averaged: AVERAGED.map(pair),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Comparison {
        rows,
        tolerance,
        labels,
    })
}

fn number(record: &Value, key: &str) -> Option<f64> {
    record.get(key).and_then(Value::as_f64)
}

/// Both runs' `eval_metrics`, by name (a name only one run has compares as infinitely apart).
fn metric_pairs(harness: &Value, reference: &Value) -> Vec<(String, Pair)> {
    let metrics = |record: &Value| {
        record
            .get("eval_metrics")
            .and_then(Value::as_object)
            .cloned()
    };
    let (h, r) = (
        metrics(harness).unwrap_or_default(),
        metrics(reference).unwrap_or_default(),
    );
    let mut names: Vec<&String> = h.keys().chain(r.keys()).collect();
    names.sort();
    names.dedup();
    let value =
        |map: &serde_json::Map<String, Value>, name: &str| map.get(name).and_then(Value::as_f64);
    names
        .into_iter()
        .map(|name| {
            let pair = Pair {
                harness: value(&h, name),
                reference: value(&r, name),
            };
            (name.clone(), pair)
        })
        .collect()
}
