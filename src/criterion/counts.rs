//! The count a batch's mean is over. PyTorch's mean-reduced criteria divide by a count of their
//! own: the elements for every loss here but cross-entropy and nll, whose mean is over the targets
//! that are not `ignore_index`, weighted by `weight[target]` when class weights are given
//! (`Σ w[t]·loss / Σ w[t]`; with label smoothing too). A batch's mean times that count is its
//! sum, and the sums over the counts are the one-shot mean over the whole split.
//!
//! For losses whose count is the same for every sample (every element counts), the count is kept
//! as the sample count: the seed's `× batch_size`, the same weighting and the seed's bits. For
//! class indices it is read from the targets once per split, per sample, and summed per batch in
//! the batch's sample order in float64 — `scripts/reference.py` sums the same values in the same
//! order, so both sides get the same bits.

use crate::distributed::Shard;

/// What each sample of a split adds to a count.
#[derive(Debug, Clone, PartialEq)]
pub enum PerSample {
    /// The same for every sample.
    Constant(f64),
    /// One value per sample, in the split's stored order.
    Each(Vec<f64>),
}

/// A split's counts: the loss's, and the accuracy's (its targets that are not ignored).
#[derive(Debug, Clone, PartialEq)]
pub struct SampleCounts {
    pub loss: PerSample,
    /// `None` for losses without an accuracy.
    pub accuracy: Option<PerSample>,
}

impl PerSample {
    /// Per-sample values, kept as a constant when they all are one integer (every order of
    /// summing integers gives the same bits, so nothing is lost).
    pub fn from_values(values: Vec<f64>) -> PerSample {
        match values.first() {
            Some(&first)
                if first.fract() == 0.0
                    && values.iter().all(|v| v.to_bits() == first.to_bits()) =>
            {
                PerSample::Constant(first)
            }
            _ => PerSample::Each(values),
        }
    }

    /// Whether every sample adds 1 (the seed's sample count).
    pub fn is_samples(&self) -> bool {
        *self == PerSample::Constant(1.0)
    }

    /// The counts of the batches of `batch_size` samples of a split of `n` samples visited in
    /// `order` (sample indices; `None`: stored order), the short last batch included: of each
    /// whole batch, or of a rank's rows of each (`shard`).
    pub fn per_batch(
        &self,
        n: usize,
        batch_size: usize,
        order: Option<&[i64]>,
        shard: Shard,
    ) -> Vec<f64> {
        let batches = n.div_ceil(batch_size);
        (0..batches)
            .map(|b| {
                let batch = b * batch_size..((b + 1) * batch_size).min(n);
                let rows = shard.range(batch.len());
                let (start, end) = (batch.start + rows.start, batch.start + rows.end);
                match self {
                    PerSample::Constant(c) => (end - start) as f64 * c,
                    PerSample::Each(values) => {
                        let mut count = 0.0;
                        for i in start..end {
                            count += values[order.map_or(i, |o| o[i] as usize)];
                        }
                        count
                    }
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_integers_collapse_and_weights_do_not() {
        assert_eq!(
            PerSample::from_values(vec![1.0; 4]),
            PerSample::Constant(1.0)
        );
        assert!(PerSample::from_values(vec![1.0; 4]).is_samples());
        assert_eq!(
            PerSample::from_values(vec![7.0; 3]),
            PerSample::Constant(7.0)
        );
        let weights = PerSample::from_values(vec![0.1; 3]);
        assert!(matches!(weights, PerSample::Each(_)));
        assert_eq!(
            weights.per_batch(3, 3, None, Shard::WHOLE),
            vec![0.1 + 0.1 + 0.1]
        );
    }

    #[test]
    fn batches_follow_the_order_and_keep_the_short_last_one() {
        let counts = PerSample::from_values(vec![1.0, 2.0, 0.0, 5.0, 3.0]);
        assert_eq!(
            counts.per_batch(5, 2, None, Shard::WHOLE),
            vec![3.0, 5.0, 3.0]
        );
        let order = [4, 3, 2, 1, 0];
        assert_eq!(
            counts.per_batch(5, 2, Some(&order), Shard::WHOLE),
            vec![8.0, 2.0, 1.0]
        );
        assert_eq!(
            PerSample::Constant(1.0).per_batch(5, 2, None, Shard::WHOLE),
            vec![2.0, 2.0, 1.0]
        );
    }
}
