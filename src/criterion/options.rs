//! The keyword arguments of PyTorch's criteria that change what their mean is over:
//! `ignore_index=` and `weight=` (cross-entropy, nll), `label_smoothing=` (cross-entropy) and
//! `pos_weight=` (bce-with-logits). Checked once, before training, against the loss and (when the
//! model is known) its number of classes. Which loss takes which option is each loss's own
//! [`LossFn::accepts`]: the refusals below are read from it.
use tch::{Device, Tensor};

use super::{Loss, LossFn};
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

/// One of the options, as its command-line flag names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossOption {
    IgnoreIndex,
    ClassWeights,
    LabelSmoothing,
    PosWeight,
}

impl LossOption {
    /// Every option, in the order their refusals are checked.
    pub const ALL: [LossOption; 4] = [
        LossOption::IgnoreIndex,
        LossOption::ClassWeights,
        LossOption::LabelSmoothing,
        LossOption::PosWeight,
    ];

    /// The command-line flag (also the name errors give it).
    pub fn flag(self) -> &'static str {
        match self {
            LossOption::IgnoreIndex => "--ignore-index",
            LossOption::ClassWeights => "--class-weights",
            LossOption::LabelSmoothing => "--label-smoothing",
            LossOption::PosWeight => "--pos-weight",
        }
    }

    /// Whether `options` gives it.
    fn is_given(self, options: &LossOptions) -> bool {
        match self {
            LossOption::IgnoreIndex => options.ignore_index.is_some(),
            LossOption::ClassWeights => options.class_weights.is_some(),
            LossOption::LabelSmoothing => options.label_smoothing.is_some(),
            LossOption::PosWeight => options.pos_weight.is_some(),
        }
    }

    /// The built-in losses that take it: `cross-entropy and nll`.
    fn taken_by(self) -> String {
        let names: Vec<&str> = Loss::ALL
            .iter()
            .filter(|loss| loss.accepts().contains(&self))
            .map(|loss| loss.name())
            .collect();
        match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
            _ => names.concat(),
        }
    }
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

    /// An error for an option the built-in `loss` does not take, or class weights for another
    /// number of classes than `classes` (when known).
    pub fn check_for(&self, loss: Loss, classes: Option<i64>) -> Result<()> {
        self.check_against(loss.plain().as_ref(), classes)
    }

    /// [`LossOptions::check_for`] for any loss, a port's own included.
    pub fn check_against(&self, loss: &dyn LossFn, classes: Option<i64>) -> Result<()> {
        self.validate()?;
        self.check_accepted(loss)?;
        self.check_classes(classes)
    }

    /// An error for a given option that `loss` does not take ([`LossFn::accepts`]).
    fn check_accepted(&self, loss: &dyn LossFn) -> Result<()> {
        let refused = LossOption::ALL
            .into_iter()
            .find(|o| o.is_given(self) && !loss.accepts().contains(o));
        match refused {
            Some(option) => Err(Error::Config(format!(
                "{} applies to {}, not --loss {}",
                option.flag(),
                option.taken_by(),
                loss.name()
            ))),
            None => Ok(()),
        }
    }

    /// An error for class weights of another number of classes than `classes` (when known).
    fn check_classes(&self, classes: Option<i64>) -> Result<()> {
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

/// `values` (float64, one per class or output column) as a tensor on `device`.
pub(super) fn on_device(values: &Option<Vec<f64>>, device: Device) -> Result<Option<Tensor>> {
    values
        .as_ref()
        .map(|v| Ok(Tensor::f_from_slice(v)?.f_to_device(device)?))
        .transpose()
}

/// A weight tensor in the dtype of `outputs`.
pub(super) fn cast(weights: &Option<Tensor>, outputs: &Tensor) -> Result<Option<Tensor>> {
    weights
        .as_ref()
        .map(|w| Ok(w.f_to_kind(outputs.kind())?))
        .transpose()
}
