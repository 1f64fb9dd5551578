//! Loss functions. Each returns the *mean* over the batch, as PyTorch's criteria do by default;
//! the training loop turns it back into a sum with the count that mean is over (see [`counts`]).
//!
//! A loss is a [`LossFn`]: one file per built-in loss, the shared parts of the class-index and
//! element-wise ones in `class_index.rs` and `elementwise.rs`. [`Loss`] names the built-in ones
//! on the command line and in `config.json`; a port brings its own through [`LossChoice::own`].
mod bce_with_logits;
mod choice;
mod class_index;
mod configured;
mod counts;
mod cross_entropy;
mod elementwise;
mod huber;
mod l1;
mod loss_fn;
mod mse;
mod nll;
mod options;
mod smooth_l1;
mod targets;

pub use choice::LossChoice;
pub use class_index::ClassIndices;
pub use configured::Criterion;
pub use counts::{PerSample, SampleCounts};
pub use loss_fn::{LossFn, Targets};
pub use options::{LossOption, LossOptions, DEFAULT_IGNORE_INDEX};
pub use targets::is_float;
pub(crate) use targets::{check_targets, target_shape};

use tch::{Device, Tensor};

use crate::error::Result;
use crate::names::named_enum;
use elementwise::PerElement;

named_enum! {
    /// A built-in criterion, named as on the command line.
    pub enum Loss: "unknown loss" {
        /// `F.mse_loss`; float targets of the output's shape.
        Mse = "mse",
        /// `F.l1_loss`; float targets of the output's shape.
        L1 = "l1",
        /// `F.smooth_l1_loss` (beta 1.0); float targets of the output's shape.
        SmoothL1 = "smooth-l1",
        /// `F.huber_loss` (delta 1.0); float targets of the output's shape.
        Huber = "huber",
        /// `F.cross_entropy`: logits `[N, C, …]`, int64 class indices `[N, …]`.
        CrossEntropy = "cross-entropy",
        /// `F.nll_loss`: log-probabilities `[N, C, …]`, int64 class indices `[N, …]`.
        Nll = "nll",
        /// `F.binary_cross_entropy_with_logits`: logits and 0/1 float targets of the same shape.
        BceWithLogits = "bce-with-logits",
    }
}

impl Loss {
    /// The loss with `options` (those it does not take are left out: see
    /// [`LossOptions::check_for`]), its weight tensors on `device`.
    pub fn build(self, options: &LossOptions, device: Device) -> Result<Box<dyn LossFn>> {
        Ok(match self {
            Loss::Mse => PerElement::boxed(self, mse::Mse),
            Loss::L1 => PerElement::boxed(self, l1::L1),
            Loss::SmoothL1 => PerElement::boxed(self, smooth_l1::SmoothL1),
            Loss::Huber => PerElement::boxed(self, huber::Huber),
            Loss::CrossEntropy => Box::new(cross_entropy::CrossEntropy::new(options, device)?),
            Loss::Nll => Box::new(nll::Nll::new(options, device)?),
            Loss::BceWithLogits => Box::new(bce_with_logits::BceWithLogits::new(options, device)?),
        })
    }

    /// The loss with PyTorch's defaults (`ignore_index=-100`, no weights, no smoothing).
    pub fn plain(self) -> Box<dyn LossFn> {
        self.build(&LossOptions::default(), Device::Cpu)
            .expect("no options: no tensor to make")
    }

    /// The options it takes.
    pub fn accepts(self) -> &'static [LossOption] {
        self.plain().accepts()
    }

    /// Whether targets are class indices (int64) rather than floats.
    pub fn takes_class_indices(self) -> bool {
        matches!(self.plain().targets(), Targets::ClassIndices { .. })
    }

    /// The batch-mean loss of `outputs` against `targets` with PyTorch's default options; see
    /// [`Criterion`] for the others.
    pub fn compute(self, outputs: &Tensor, targets: &Tensor) -> Result<Tensor> {
        Criterion::plain(self).compute(outputs, targets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_class_index_losses_are_cross_entropy_and_nll() {
        let classes: Vec<Loss> = Loss::ALL
            .iter()
            .copied()
            .filter(|l| l.takes_class_indices())
            .collect();
        assert_eq!(classes, [Loss::CrossEntropy, Loss::Nll]);
    }

    #[test]
    fn an_option_is_refused_by_every_loss_that_does_not_accept_it() {
        let given = |option: LossOption| match option {
            LossOption::IgnoreIndex => LossOptions {
                ignore_index: Some(0),
                ..LossOptions::default()
            },
            LossOption::ClassWeights => LossOptions {
                class_weights: Some(vec![1.0, 2.0]),
                ..LossOptions::default()
            },
            LossOption::LabelSmoothing => LossOptions {
                label_smoothing: Some(0.1),
                ..LossOptions::default()
            },
            LossOption::PosWeight => LossOptions {
                pos_weight: Some(vec![2.0]),
                ..LossOptions::default()
            },
        };
        let takes = |option| match option {
            LossOption::IgnoreIndex | LossOption::ClassWeights => "cross-entropy and nll",
            LossOption::LabelSmoothing => "cross-entropy",
            LossOption::PosWeight => "bce-with-logits",
        };
        for loss in Loss::ALL.iter().copied() {
            for option in LossOption::ALL {
                let result = given(option).check_for(loss, None);
                if loss.accepts().contains(&option) {
                    assert!(result.is_ok(), "{loss} {}: {result:?}", option.flag());
                    continue;
                }
                let message = result.unwrap_err().to_string();
                let expected = format!(
                    "{} applies to {}, not --loss {loss}",
                    option.flag(),
                    takes(option)
                );
                assert!(message.contains(&expected), "{message}");
            }
        }
    }
}
