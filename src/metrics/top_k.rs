//! `top{k}_accuracy`: torchmetrics' `MulticlassAccuracy(top_k=k, average='micro',
//! ignore_index=…)` — the non-ignored targets found among the `k` largest outputs (ties broken by
//! `topk`, as torchmetrics does), over the non-ignored targets.
use tch::{Device, Kind, Tensor};

use super::{kept, read, zeros, Metric, MetricSpec};
use crate::error::Result;

#[derive(Debug)]
pub struct TopKAccuracy {
    k: i64,
    ignore_index: i64,
    /// `[hits, targets]`.
    sums: Tensor,
}

impl TopKAccuracy {
    pub fn new(k: i64, ignore_index: i64, device: Device) -> Result<TopKAccuracy> {
        Ok(TopKAccuracy {
            k,
            ignore_index,
            sums: zeros(2, device)?,
        })
    }
}

impl Metric for TopKAccuracy {
    fn spec(&self) -> MetricSpec {
        MetricSpec::TopK(self.k)
    }

    fn update(&mut self, outputs: &Tensor, targets: &Tensor) -> Result<()> {
        let (_, top) = outputs.f_topk(self.k, 1, true, true)?; // [N, k, …]
        let hit = top
            .f_eq_tensor(&targets.f_unsqueeze(1)?)?
            .f_any_dim(1, false)?;
        let keep = kept(targets, self.ignore_index)?;
        let hits = hit.f_flatten(0, -1)?.f_logical_and(&keep)?;
        let batch = Tensor::f_stack(&[hits.f_sum(Kind::Int64)?, keep.f_sum(Kind::Int64)?], 0)?;
        let _ = self.sums.f_add_(&batch.f_to_kind(Kind::Double)?)?;
        Ok(())
    }

    fn state(&self) -> Result<Vec<f64>> {
        read(&self.sums)
    }

    fn value(&self, state: &[f64]) -> Option<f64> {
        (state[1] > 0.0).then(|| state[0] / state[1])
    }
}
