//! The first divergence of two traces (`trace.jsonl`, see `trace`): walked step by step, each
//! step in the order a step computes — which samples, their loss, the gradients, the new values —
//! so that what is reported is the cause, not one of its consequences. Equality is on the bytes'
//! hash; the norms, sums and largest magnitudes say how large a difference is (a last-bit drift
//! has a relative difference near 1e-7, a wrong formula far more).
use std::fmt;
use std::path::Path;

use serde::Serialize;

use super::rows::relative_difference;
use crate::error::Result;
use crate::trace::{read_trace, Fingerprint, TraceLine, TRACE_FILE};

/// Where two traces first differ, or how far they agree.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Divergence {
    /// The steps both traces agree on (0: not even the initial state).
    pub identical_through: u64,
    /// The first difference; `None` when the traces agree as far as both go.
    pub first: Option<Difference>,
    /// When one trace is longer: how many steps each holds.
    pub lengths: Option<(u64, u64)>,
}

/// One difference at one step.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Difference {
    pub step: u64,
    pub epoch: Option<usize>,
    pub batch: Option<usize>,
    /// `initial value`, `batch order`, `loss`, `gradient`, `value after the step`.
    pub what: &'static str,
    pub tensor: Option<String>,
    /// The two sides and how far apart they are, in words.
    pub detail: String,
    /// `|a - b| / max(|a|, |b|)` of the loss, or of the tensor's norm (`None` for the order).
    pub relative: Option<f64>,
}

/// The divergence of the traces in two run folders, when both have one.
pub fn trace_divergence(run_a: &Path, run_b: &Path) -> Result<Option<Divergence>> {
    let (a, b) = (run_a.join(TRACE_FILE), run_b.join(TRACE_FILE));
    if !a.is_file() || !b.is_file() {
        return Ok(None);
    }
    Ok(Some(first_divergence(&read_trace(&a)?, &read_trace(&b)?)))
}

/// Walks `a` and `b` to their first difference.
pub fn first_divergence(a: &[TraceLine], b: &[TraceLine]) -> Divergence {
    let mut identical_through = 0;
    for (i, (la, lb)) in a.iter().zip(b).enumerate() {
        if let Some(first) = step_difference(la, lb) {
            return Divergence {
                identical_through,
                first: Some(first),
                lengths: None,
            };
        }
        identical_through = if i == 0 { 0 } else { la.step };
    }
    let steps = |t: &[TraceLine]| t.last().map_or(0, |l| l.step);
    Divergence {
        identical_through,
        first: None,
        lengths: (a.len() != b.len()).then(|| (steps(a), steps(b))),
    }
}

fn step_difference(a: &TraceLine, b: &TraceLine) -> Option<Difference> {
    let at = |what, tensor: Option<&str>, detail: String, relative| Difference {
        step: a.step,
        epoch: a.epoch,
        batch: a.batch,
        what,
        tensor: tensor.map(str::to_string),
        detail,
        relative,
    };
    if a.step == 0 || b.step == 0 {
        return tensors_difference(&a.values, &b.values)
            .map(|(name, d, r)| at("initial value", Some(name), d, r));
    }
    if (a.epoch, a.batch, a.samples, &a.order) != (b.epoch, b.batch, b.samples, &b.order) {
        let side = |l: &TraceLine| {
            format!(
                "epoch {}, batch {}, {} samples (order {})",
                l.epoch.unwrap_or(0),
                l.batch.unwrap_or(0),
                l.samples.unwrap_or(0),
                l.order.as_deref().unwrap_or("?")
            )
        };
        let detail = format!("run A is at {}; run B at {}", side(a), side(b));
        return Some(at("batch order", None, detail, None));
    }
    if a.losses.len() != b.losses.len()
        || a.losses
            .iter()
            .zip(&b.losses)
            .any(|(x, y)| x.to_bits() != y.to_bits())
    {
        let (x, y) = (a.losses.iter().sum::<f64>(), b.losses.iter().sum::<f64>());
        let r = relative_difference(x, y);
        let detail = format!(
            "{:?} vs {:?} (relative difference {r:.3e})",
            a.losses, b.losses
        );
        return Some(at("loss", None, detail, Some(r)));
    }
    if let Some((name, d, r)) = tensors_difference(&a.grads, &b.grads) {
        return Some(at("gradient", Some(name), d, r));
    }
    tensors_difference(&a.values, &b.values)
        .map(|(name, d, r)| at("value after the step", Some(name), d, r))
}

/// The first tensor of `a` (in its order) that `b` lacks or holds other bytes of; then one of
/// `b` that `a` lacks.
fn tensors_difference<'a>(
    a: &'a [Fingerprint],
    b: &'a [Fingerprint],
) -> Option<(&'a str, String, Option<f64>)> {
    for fa in a {
        let Some(fb) = b.iter().find(|f| f.name == fa.name) else {
            return Some((&fa.name, format!("run B has no tensor {}", fa.name), None));
        };
        if fa.sha != fb.sha {
            return Some((
                &fa.name,
                sizes(fa, fb),
                Some(relative_difference(fa.norm, fb.norm)),
            ));
        }
    }
    let extra = b.iter().find(|fb| !a.iter().any(|fa| fa.name == fb.name))?;
    Some((
        &extra.name,
        format!("run A has no tensor {}", extra.name),
        None,
    ))
}

/// "norm 1.2 vs 1.3 (relative 7.7e-2), sum …, max |x| …", and a layout that differs.
fn sizes(a: &Fingerprint, b: &Fingerprint) -> String {
    let mut parts = Vec::new();
    if (&a.dtype, &a.shape) != (&b.dtype, &b.shape) {
        parts.push(format!(
            "dtype/shape {:?} {:?} vs {:?} {:?}",
            a.dtype, a.shape, b.dtype, b.shape
        ));
    }
    for (label, x, y) in [
        ("norm", a.norm, b.norm),
        ("sum", a.sum, b.sum),
        ("max |x|", a.max_abs, b.max_abs),
    ] {
        parts.push(format!(
            "{label} {x:.9} vs {y:.9} (relative {:.3e})",
            relative_difference(x, y)
        ));
    }
    parts.join(", ")
}

impl fmt::Display for Divergence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.first {
            None => {
                write!(
                    f,
                    "traces: identical through step {}",
                    self.identical_through
                )?;
                if let Some((a, b)) = self.lengths {
                    write!(
                        f,
                        " (run A has {a} steps, run B {b}: the shorter one ends there)"
                    )?;
                }
                Ok(())
            }
            Some(d) => {
                let place = match (d.epoch, d.batch) {
                    (Some(e), Some(b)) => format!("step {} (epoch {e}, batch {b})", d.step),
                    _ => format!("step {} (the initial state)", d.step),
                };
                let what = match (&d.tensor, d.what) {
                    (Some(name), "value after the step") => {
                        format!("value of {name} after the step")
                    }
                    (Some(name), what) => format!("{what} of {name}"),
                    (None, what) => what.to_string(),
                };
                if d.step == 0 {
                    writeln!(f, "traces: they differ from the start, at {place}: {what}")?;
                } else {
                    let through = self.identical_through;
                    writeln!(
                        f,
                        "traces: identical through step {through}; first divergence at {place}: {what}"
                    )?;
                }
                write!(f, "  {}", d.detail)
            }
        }
    }
}
