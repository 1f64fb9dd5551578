//! `perplexity`: torchmetrics' `Perplexity(ignore_index=…)`, `exp(total_nll / count)` over the
//! split's non-ignored tokens. Each batch adds its NLL *sum* (`F.cross_entropy(…,
//! reduction='sum')`, or `F.nll_loss` for log-probabilities: float32, widened to float64) and its
//! token count, so batch sizes and processes do not change the total. Class weights and label
//! smoothing are left out: perplexity is the model's distribution's, not the training loss's.
use tch::{Device, Kind, Reduction, Tensor};

use super::{kept, read, zeros, Metric, MetricSpec};
use crate::error::Result;

#[derive(Debug)]
pub struct Perplexity {
    /// The outputs are logits (cross-entropy) rather than log-probabilities (nll).
    logits: bool,
    ignore_index: i64,
    /// `[nll sum, tokens]`.
    sums: Tensor,
}

impl Perplexity {
    pub fn new(logits: bool, ignore_index: i64, device: Device) -> Result<Perplexity> {
        Ok(Perplexity {
            logits,
            ignore_index,
            sums: zeros(2, device)?,
        })
    }
}

impl Metric for Perplexity {
    fn spec(&self) -> MetricSpec {
        MetricSpec::Perplexity
    }

    fn update(&mut self, outputs: &Tensor, targets: &Tensor) -> Result<()> {
        let none = None::<Tensor>;
        let nll = match self.logits {
            true => outputs.f_cross_entropy_loss(
                targets,
                none,
                Reduction::Sum,
                self.ignore_index,
                0.0,
            )?,
            false => outputs.f_nll_loss_nd(targets, none, Reduction::Sum, self.ignore_index)?,
        };
        let tokens = kept(targets, self.ignore_index)?.f_sum(Kind::Double)?;
        let batch = Tensor::f_stack(&[nll.f_to_kind(Kind::Double)?, tokens], 0)?;
        let _ = self.sums.f_add_(&batch)?;
        Ok(())
    }

    fn state(&self) -> Result<Vec<f64>> {
        read(&self.sums)
    }

    fn value(&self, state: &[f64]) -> Option<f64> {
        (state[1] > 0.0).then(|| (state[0] / state[1]).exp())
    }
}
