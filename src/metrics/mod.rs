//! Metrics beyond the loss and accuracy, computed on the eval split from the outputs evaluation
//! already has (no second forward pass): top-k accuracy, precision, recall and F1 (micro and
//! macro) and perplexity — torchmetrics' definitions, in float64.
//!
//! Each metric keeps float64 *sums* (hits and targets, per-class tp/fp/fn, the token NLL and its
//! count), never per-batch ratios: summed over batches of any size and over processes, the value
//! is taken once at the end from the totals, so it does not depend on how the split was cut
//! (averaging per-batch ratios would be biased; burn-train's metrics warn about the same).
//! The sums stay on the outputs' device until the end of the split (no per-batch read).
mod class_counts;
mod perplexity;
mod set;
mod spec;
mod top_k;

pub use class_counts::{class_score, ClassCounts};
pub use perplexity::Perplexity;
pub use set::{check, MetricSet, MetricValues};
pub use spec::{Average, ClassStat, MetricSpec, METRIC_NAMES};
pub use top_k::TopKAccuracy;

use std::fmt::Debug;

use tch::Tensor;

use crate::error::Result;

/// A metric over a split: its sums updated batch by batch, its value taken from the totals.
pub trait Metric: Debug {
    /// Its name (`--metrics`' spelling, `metrics.jsonl`'s key).
    fn spec(&self) -> MetricSpec;

    /// Adds a batch: `outputs` `[N, C, …]` as the model gave them, class indices `[N, …]`.
    fn update(&mut self, outputs: &Tensor, targets: &Tensor) -> Result<()>;

    /// The sums so far (one device read); what is summed over processes.
    fn state(&self) -> Result<Vec<f64>>;

    /// The value of (summed) `state`; `None` when nothing was counted.
    fn value(&self, state: &[f64]) -> Option<f64>;
}

/// `targets != ignore_index`, flattened: the positions a metric counts.
fn kept(targets: &Tensor, ignore_index: i64) -> Result<Tensor> {
    Ok(targets.f_flatten(0, -1)?.f_ne(ignore_index)?)
}

/// A float64 zero vector of `len` on `device`, for sums.
fn zeros(len: i64, device: tch::Device) -> Result<Tensor> {
    Ok(Tensor::f_zeros([len], (tch::Kind::Double, device))?)
}

/// The sums of a device vector, read back.
fn read(sums: &Tensor) -> Result<Vec<f64>> {
    Ok(Vec::<f64>::try_from(&sums.f_to_device(tch::Device::Cpu)?)?)
}
