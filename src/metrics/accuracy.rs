//! Classification accuracy as raw counts: averaging per-batch ratios would weight a short last
//! batch like a full one.
use tch::Tensor;

use crate::error::Result;

/// Correct predictions and samples seen.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Accuracy {
    correct: u64,
    count: u64,
}

impl Accuracy {
    /// Adds `correct` right answers out of `count` samples.
    pub fn update(&mut self, correct: u64, count: u64) {
        self.correct += correct;
        self.count += count;
    }

    /// Folds another shard's counts into this one.
    pub fn merge(&mut self, other: &Accuracy) {
        self.update(other.correct, other.count);
    }

    /// Correct predictions so far.
    pub fn correct(&self) -> u64 {
        self.correct
    }

    /// Samples seen so far.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// `correct / count`, `None` before any sample.
    pub fn ratio(&self) -> Option<f64> {
        (self.count > 0).then(|| self.correct as f64 / self.count as f64)
    }
}

/// Number of right answers in a batch of class logits `[N, C]` against class indices `[N]`.
pub fn count_correct_classes(logits: &Tensor, targets: &Tensor) -> Result<u64> {
    Ok(correct_classes(logits, targets)?.f_int64_value(&[])? as u64)
}

/// Number of right answers for binary logits against 0/1 float targets of the same shape.
pub fn count_correct_binary(logits: &Tensor, targets: &Tensor) -> Result<u64> {
    Ok(correct_binary(logits, targets)?.f_int64_value(&[])? as u64)
}

/// [`count_correct_classes`] as an int64 scalar left on the logits' device (no device read).
pub fn correct_classes(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let predicted = logits.f_argmax(1, false)?;
    Ok(predicted.f_eq_tensor(targets)?.f_sum(tch::Kind::Int64)?)
}

/// [`count_correct_binary`] as an int64 scalar left on the logits' device (no device read).
pub fn correct_binary(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let predicted = logits.f_gt(0.0)?.f_to_kind(targets.kind())?;
    Ok(predicted.f_eq_tensor(targets)?.f_sum(tch::Kind::Int64)?)
}
