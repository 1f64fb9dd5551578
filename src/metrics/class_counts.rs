//! Precision, recall and F1, micro and macro: torchmetrics' `MulticlassPrecision`/`Recall`/
//! `F1Score(num_classes=C, average=…, ignore_index=…)` with its defaults (`top_k=1`,
//! `zero_division=0`). The state is each class's true positives, false positives and false
//! negatives of the argmax predictions, at the positions whose target is not ignored (an ignored
//! target and the prediction at it are left out, as torchmetrics drops them).
//!
//! The averages, as torchmetrics 1.9.0 takes them (`_precision_recall_reduce`, `_fbeta_reduce`,
//! `_adjust_weights_safe_divide`):
//! - micro: the ratio of the summed counts, `Σtp / (Σtp + Σfp)` (recall: `Σfn`; F1:
//!   `2Σtp / (2Σtp + Σfp + Σfn)`), 0 when the denominator is 0;
//! - macro: the mean of the per-class ratios (each 0 when its denominator is 0) over the classes
//!   that occur — a class with `tp + fp + fn = 0` (neither predicted nor a target) is left out
//!   (Lightning-AI/torchmetrics #1691's pitfall was counting it as 0). A class that is only
//!   predicted (an ignored class the model still predicts, say) does occur: its precision and
//!   recall are 0 and pull the macro mean down, as in torchmetrics.
use tch::{Device, Kind, Tensor};

use super::{kept, read, zeros, Average, ClassStat, Metric, MetricSpec};
use crate::error::Result;

/// Per-class `tp`, `fp`, `fn` sums of one metric.
#[derive(Debug)]
pub struct ClassCounts {
    average: Average,
    stat: ClassStat,
    classes: i64,
    ignore_index: i64,
    /// `[tp; C] ++ [fp; C] ++ [fn; C]`.
    sums: Tensor,
}

impl ClassCounts {
    pub fn new(
        average: Average,
        stat: ClassStat,
        classes: i64,
        ignore_index: i64,
        device: Device,
    ) -> Result<ClassCounts> {
        Ok(ClassCounts {
            average,
            stat,
            classes,
            ignore_index,
            sums: zeros(3 * classes, device)?,
        })
    }
}

impl Metric for ClassCounts {
    fn spec(&self) -> MetricSpec {
        MetricSpec::Class(self.average, self.stat)
    }

    fn update(&mut self, outputs: &Tensor, targets: &Tensor) -> Result<()> {
        let keep = kept(targets, self.ignore_index)?;
        let preds = outputs
            .f_argmax(1, false)?
            .f_flatten(0, -1)?
            .f_masked_select(&keep)?;
        let targets = targets.f_flatten(0, -1)?.f_masked_select(&keep)?;
        // Per-class counts as one-hot sums (deterministic on every device, unlike bincount).
        let per_class = |labels: &Tensor| -> Result<Tensor> {
            Ok(labels
                .f_one_hot(self.classes)?
                .f_sum_dim_intlist(0, false, Kind::Int64)?)
        };
        let right = preds.f_eq_tensor(&targets)?;
        let tp = per_class(&targets.f_masked_select(&right)?)?;
        let fp = per_class(&preds)?.f_sub(&tp)?;
        let fn_ = per_class(&targets)?.f_sub(&tp)?;
        let batch = Tensor::f_cat(&[tp, fp, fn_], 0)?.f_to_kind(Kind::Double)?;
        let _ = self.sums.f_add_(&batch)?;
        Ok(())
    }

    fn state(&self) -> Result<Vec<f64>> {
        read(&self.sums)
    }

    fn value(&self, state: &[f64]) -> Option<f64> {
        let c = self.classes as usize;
        let (tp, rest) = state.split_at(c);
        let (fp, fn_) = rest.split_at(c);
        Some(class_score(self.average, self.stat, tp, fp, fn_))
    }
}

/// The score of per-class counts (integers held in float64, so every sum is exact and each
/// ratio is rounded once).
pub fn class_score(average: Average, stat: ClassStat, tp: &[f64], fp: &[f64], fn_: &[f64]) -> f64 {
    let ratio = |tp: f64, fp: f64, fn_: f64| {
        let (num, den) = match stat {
            ClassStat::Precision => (tp, tp + fp),
            ClassStat::Recall => (tp, tp + fn_),
            ClassStat::F1 => (2.0 * tp, 2.0 * tp + fp + fn_),
        };
        if den > 0.0 {
            num / den
        } else {
            0.0 // zero_division=0
        }
    };
    match average {
        Average::Micro => {
            let total = |v: &[f64]| v.iter().sum::<f64>();
            ratio(total(tp), total(fp), total(fn_))
        }
        Average::Macro => {
            let occurring: Vec<usize> = (0..tp.len())
                .filter(|&i| tp[i] + fp[i] + fn_[i] > 0.0)
                .collect();
            if occurring.is_empty() {
                return 0.0;
            }
            let sum: f64 = occurring.iter().map(|&i| ratio(tp[i], fp[i], fn_[i])).sum();
            sum / occurring.len() as f64
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// torchmetrics 1.9.0, the #1691 case: class 3 of 4 never occurs and is left out of macro.
    /// ```python
    /// from torchmetrics.classification import MulticlassF1Score
    /// MulticlassF1Score(4, average="macro")(torch.tensor([0, 1, 1, 2]), torch.tensor([0, 1, 2, 2]))
    /// # tensor(0.7778) = (1 + 2/3 + 2/3) / 3
    /// ```
    #[test]
    fn macro_leaves_out_classes_that_never_occur() {
        let (tp, fp, fn_) = (
            [1.0, 1.0, 1.0, 0.0],
            [0.0, 1.0, 0.0, 0.0],
            [0.0, 0.0, 1.0, 0.0],
        );
        let f1 = class_score(Average::Macro, ClassStat::F1, &tp, &fp, &fn_);
        assert_eq!(f1, (1.0 + 2.0 / 3.0 + 2.0 / 3.0) / 3.0);
        let micro = class_score(Average::Micro, ClassStat::Precision, &tp, &fp, &fn_);
        assert_eq!(micro, 3.0 / 4.0);
        assert_eq!(
            class_score(Average::Macro, ClassStat::Recall, &[0.0], &[0.0], &[0.0]),
            0.0
        );
    }
}
