//! Loss functions. Each returns the *mean* over the batch, as PyTorch's criteria do by default;
//! the training loop turns it back into a sum with the count that mean is over (see [`counts`]).
mod configured;
mod counts;
mod options;

pub use configured::Criterion;
pub use counts::{PerSample, SampleCounts};
pub use options::{LossOptions, DEFAULT_IGNORE_INDEX};

use tch::{Kind, Tensor};

use crate::error::{Error, Result};
use crate::names::named_enum;

named_enum! {
    /// A criterion, named as on the command line.
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
    /// Whether targets are class indices (int64) rather than floats.
    pub fn takes_class_indices(self) -> bool {
        matches!(self, Loss::CrossEntropy | Loss::Nll)
    }

    /// The batch-mean loss of `outputs` against `targets` with PyTorch's default options
    /// (`ignore_index=-100`, no weights, no smoothing); see [`Criterion`] for the others.
    pub fn compute(self, outputs: &Tensor, targets: &Tensor) -> Result<Tensor> {
        Criterion::plain(self).compute(outputs, targets)
    }

    /// An error unless `outputs` and `targets` have the shapes the loss takes, without
    /// broadcasting: libtorch would broadcast a model's `[1, 1]` against targets `[64, 1]` and
    /// train on a wrong loss.
    fn check_shapes(self, outputs: &Tensor, targets: &Tensor) -> Result<()> {
        let (out, tgt) = (outputs.size(), targets.size());
        let fits = if self.takes_class_indices() {
            out.len() >= 2 && out.len() == tgt.len() + 1 && out[0] == tgt[0] && out[2..] == tgt[1..]
        } else {
            out == tgt
        };
        if fits {
            return Ok(());
        }
        let needs = if self.takes_class_indices() {
            "outputs [N, C, …] for targets [N, …]"
        } else {
            "outputs of the targets' shape"
        };
        Err(Error::Data(format!(
            "--loss {}: the model's output {out:?} does not fit the batch's targets {tgt:?} (it \
             needs {needs}: one row per sample)",
            self.name()
        )))
    }

    /// Checks the targets' dtype (and class range, given the number of classes) before training.
    /// Targets equal to `ignore_index` are left out of the range (PyTorch ignores them); a split
    /// whose every target is ignored is an error. Float targets must have the dtype of the model's
    /// output (`output`): libtorch computes a mixed-dtype loss but its backward pass fails
    /// ("Found dtype Double but expected Float").
    pub fn check_targets(
        self,
        targets: &Tensor,
        key: &str,
        classes: Option<i64>,
        output: Kind,
        ignore_index: i64,
    ) -> Result<()> {
        let kind = targets.kind();
        if self.takes_class_indices() {
            if kind != Kind::Int64 {
                return Err(Error::Data(format!(
                    "'{key}' has dtype {kind:?} {:?}; --loss {} needs int64 class indices",
                    targets.size(),
                    self.name()
                )));
            }
            let kept = targets.f_masked_select(&targets.f_ne(ignore_index)?)?;
            if kept.numel() == 0 {
                return Err(Error::Data(format!(
                    "every target of '{key}' {:?} is the ignore index {ignore_index}: there is \
                     nothing to average",
                    targets.size()
                )));
            }
            if let Some(classes) = classes {
                let (lo, hi) = (
                    kept.f_min()?.f_int64_value(&[])?,
                    kept.f_max()?.f_int64_value(&[])?,
                );
                if lo < 0 || hi >= classes {
                    return Err(Error::Data(format!(
                        "'{key}' {:?} holds class indices in [{lo}, {hi}] but the model outputs \
                         {classes} classes (output dimension 1), so they must lie in [0, {}] (or \
                         be the ignore index {ignore_index})",
                        targets.size(),
                        classes - 1
                    )));
                }
            }
        } else if !is_float(kind) {
            return Err(Error::Data(format!(
                "'{key}' has dtype {kind:?} {:?}; --loss {} needs float targets",
                targets.size(),
                self.name()
            )));
        } else if kind != output {
            return Err(Error::Data(format!(
                "'{key}' has dtype {kind:?} {:?} but the model outputs {output:?}; --loss {} needs \
                 targets of the output's dtype",
                targets.size(),
                self.name()
            )));
        }
        Ok(())
    }
}

/// Whether a tensor dtype is a floating-point one.
pub fn is_float(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Float | Kind::Double | Kind::Half | Kind::BFloat16
    )
}
