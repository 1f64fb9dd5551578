//! The side-by-side table `compare` prints: per epoch, train and eval loss of both runs with their
//! absolute and relative differences.
use std::fmt::Write;

use super::rows::{Comparison, Pair};

const VALUE: usize = 16;
const DIFF: usize = 9;

/// The table, one line per epoch, then a verdict line.
pub fn render_table(comparison: &Comparison) -> String {
    let group = 2 * VALUE + 2 * DIFF + 3;
    let mut out = String::new();
    let top = format!(
        "{:>5} | {:^group$} | {:^group$}",
        "", "train loss", "eval loss"
    );
    let _ = writeln!(out, "{}", top.trim_end());
    let labels = &comparison.labels;
    let heading = format!(
        "{:>VALUE$} {:>VALUE$} {:>DIFF$} {:>DIFF$}",
        fit(&labels.harness),
        fit(&labels.reference),
        "abs diff",
        "rel diff"
    );
    let _ = writeln!(out, "{:>5} | {heading} | {heading}", "epoch");
    let _ = writeln!(out, "{}", "-".repeat(5 + 2 * (group + 3) - 1));
    for row in &comparison.rows {
        let _ = writeln!(
            out,
            "{:>5} | {} | {}",
            row.epoch,
            cells(&row.train_loss),
            cells(&row.eval_loss)
        );
    }
    let verdict = if comparison.passed() {
        "passed"
    } else {
        "FAILED"
    };
    let metrics = match comparison.rows.iter().any(|r| !r.eval_metrics.is_empty()) {
        true => ", eval metrics",
        false => "",
    };
    let _ = write!(
        out,
        "max relative difference (train loss, eval loss, eval accuracy{metrics}): {} (tolerance {:e}): {verdict}",
        short(comparison.max_rel_diff()),
        comparison.tolerance
    );
    out
}

/// A label cut to the column's width.
fn fit(label: &str) -> String {
    label.chars().take(VALUE).collect()
}

fn cells(pair: &Pair) -> String {
    format!(
        "{:>VALUE$} {:>VALUE$} {:>DIFF$} {:>DIFF$}",
        value(pair.harness),
        value(pair.reference),
        pair.abs_diff().map(short).unwrap_or_else(|| "-".into()),
        if pair.harness.is_none() && pair.reference.is_none() {
            "-".into()
        } else {
            short(pair.rel_diff())
        }
    )
}

fn value(v: Option<f64>) -> String {
    match v {
        Some(v) => format!("{v:.12}"),
        None => "-".into(),
    }
}

/// 0 as `0`, anything else in three significant digits (`1.23e-7`, `inf`).
fn short(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v.is_finite() {
        format!("{v:.2e}")
    } else {
        format!("{v}")
    }
}
