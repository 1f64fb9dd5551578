//! The criterion's options, shared by `train`, `compare` and `eval`: PyTorch's keyword arguments
//! of `F.cross_entropy`, `F.nll_loss` and `F.binary_cross_entropy_with_logits`.
use clap::Args;
use tch_harness::LossOptions;

/// Options of the loss (checked against it before anything runs).
#[derive(Debug, Clone, Args)]
pub struct LossArgs {
    /// cross-entropy, nll: targets of this class count for nothing (ignore_index=); PyTorch's
    /// -100 is ignored without it. The mean is over the other targets, in each batch and over
    /// the epoch.
    #[arg(long, value_name = "I", allow_negative_numbers = true)]
    pub ignore_index: Option<i64>,
    /// cross-entropy, nll: one weight per class, e.g. 1,2.5,0.5 (weight=); the mean divides by
    /// the targets' weights, in each batch and over the epoch.
    #[arg(
        long,
        value_name = "W0,W1,…",
        value_delimiter = ',',
        allow_negative_numbers = true
    )]
    pub class_weights: Option<Vec<f64>>,
    /// bce-with-logits: the weight of positive targets, one value or one per output column
    /// (pos_weight=); the mean stays over every element.
    #[arg(
        long,
        value_name = "P0,…",
        value_delimiter = ',',
        allow_negative_numbers = true
    )]
    pub pos_weight: Option<Vec<f64>>,
    /// cross-entropy: label smoothing in [0, 1] (label_smoothing=).
    #[arg(long, value_name = "X", allow_negative_numbers = true)]
    pub label_smoothing: Option<f64>,
}

impl LossArgs {
    /// The library's options (checked when the configuration is).
    pub fn options(&self) -> LossOptions {
        LossOptions {
            ignore_index: self.ignore_index,
            class_weights: self.class_weights.clone(),
            pos_weight: self.pos_weight.clone(),
            label_smoothing: self.label_smoothing,
        }
    }
}
