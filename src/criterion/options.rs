//! The keyword arguments of PyTorch's criteria that change what their mean is over:
//! `ignore_index=` and `weight=` (cross-entropy, nll), `label_smoothing=` (cross-entropy) and
//! `pos_weight=` (bce-with-logits). Checked once, before training, against the loss and (when the
//! model is known) its number of classes.
use super::Loss;
use crate::error::{Error, Result};

/// PyTorch's default `ignore_index`: a target of -100 adds nothing to cross-entropy or nll.
pub const DEFAULT_IGNORE_INDEX: i64 = -100;

/// The options a criterion is called with; `None` is PyTorch's default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LossOptions {
    /// `ignore_index=`: targets of this class count for nothing (PyTorch's -100 when `None`).
    pub ignore_index: Option<i64>,
    /// `weight=`: one weight per class; the batch mean divides by the weights of its targets.
    pub class_weights: Option<Vec<f64>>,
    /// `pos_weight=`: the weight of positive targets, one value or one per output column.
    pub pos_weight: Option<Vec<f64>>,
    /// `label_smoothing=`, in [0, 1].
    pub label_smoothing: Option<f64>,
}

impl LossOptions {
    /// The ignore index in effect (PyTorch's -100 unless given).
    pub fn ignore_index(&self) -> i64 {
        self.ignore_index.unwrap_or(DEFAULT_IGNORE_INDEX)
    }

    /// One-line errors for values no criterion takes (checked before `loss` is known).
    pub fn validate(&self) -> Result<()> {
        for (flag, values) in [
            ("--class-weights", &self.class_weights),
            ("--pos-weight", &self.pos_weight),
        ] {
            let Some(values) = values else { continue };
            if values.is_empty() {
                return Err(Error::Config(format!("{flag} needs at least one value")));
            }
            if let Some(bad) = values.iter().find(|w| !(w.is_finite() && **w >= 0.0)) {
                return Err(Error::Config(format!(
                    "{flag} must be finite and >= 0, got {bad}"
                )));
            }
        }
        if let Some(weights) = &self.class_weights {
            if weights.iter().all(|w| *w == 0.0) {
                return Err(Error::Config(
                    "--class-weights are all 0: every target would weigh nothing".into(),
                ));
            }
        }
        if let Some(x) = self.label_smoothing {
            if !(0.0..=1.0).contains(&x) {
                return Err(Error::Config(format!(
                    "--label-smoothing must be in [0, 1], got {x}"
                )));
            }
        }
        Ok(())
    }

    /// An error for an option `loss` does not take, or class weights for another number of
    /// classes than `classes` (when known).
    pub fn check_for(&self, loss: Loss, classes: Option<i64>) -> Result<()> {
        self.validate()?;
        let refuse = |flag: &str, takes: &str| {
            Err(Error::Config(format!(
                "{flag} applies to {takes}, not --loss {loss}"
            )))
        };
        let classes_loss = matches!(loss, Loss::CrossEntropy | Loss::Nll);
        if self.ignore_index.is_some() && !classes_loss {
            return refuse("--ignore-index", "cross-entropy and nll");
        }
        if self.class_weights.is_some() && !classes_loss {
            return refuse("--class-weights", "cross-entropy and nll");
        }
        if self.label_smoothing.is_some() && loss != Loss::CrossEntropy {
            return refuse("--label-smoothing", "cross-entropy");
        }
        if self.pos_weight.is_some() && loss != Loss::BceWithLogits {
            return refuse("--pos-weight", "bce-with-logits");
        }
        if let (Some(weights), Some(classes)) = (&self.class_weights, classes) {
            if weights.len() as i64 != classes {
                return Err(Error::Config(format!(
                    "--class-weights has {} weights but the model outputs {classes} classes \
                     (output dimension 1)",
                    weights.len()
                )));
            }
        }
        Ok(())
    }

    /// An error unless `--pos-weight` broadcasts against outputs shaped like `out` (one sample,
    /// `[1, …]`) as PyTorch broadcasts it: one value, or one per entry of the last dimension.
    pub fn check_pos_weight(&self, out: &[i64]) -> Result<()> {
        let Some(pos) = &self.pos_weight else {
            return Ok(());
        };
        let last = if out.len() >= 2 {
            out[out.len() - 1]
        } else {
            1
        };
        if pos.len() == 1 || pos.len() as i64 == last {
            return Ok(());
        }
        let needs = if last == 1 {
            "1".to_string()
        } else {
            format!("1 or {last}")
        };
        Err(Error::Config(format!(
            "--pos-weight has {} values but the model's output {out:?} has {last} in its last \
             dimension (it needs {needs})",
            pos.len()
        )))
    }
}
