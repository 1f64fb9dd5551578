//! Loss functions. Each returns the *mean* over the batch, as PyTorch's criteria do by default;
//! the training loop turns it back into a sum with the batch size.
use tch::{Kind, Reduction, Tensor};

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
        /// `F.nll_loss`: log-probabilities `[N, C]`, int64 class indices `[N]`.
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

    /// The batch-mean loss of `outputs` against `targets`. Their shapes must fit exactly
    /// (`[N, …]` and `[N, …]`, or `[N, C, …]` and `[N, …]` for class indices): libtorch would
    /// broadcast a model's `[1, 1]` against targets `[64, 1]` and train on a wrong loss.
    pub fn compute(self, outputs: &Tensor, targets: &Tensor) -> Result<Tensor> {
        self.check_shapes(outputs, targets)?;
        let mean = Reduction::Mean;
        Ok(match self {
            Loss::Mse => outputs.f_mse_loss(targets, mean)?,
            Loss::L1 => outputs.f_l1_loss(targets, mean)?,
            Loss::SmoothL1 => outputs.f_smooth_l1_loss(targets, mean, 1.0)?,
            Loss::Huber => outputs.f_huber_loss(targets, mean, 1.0)?,
            // PyTorch's F.cross_entropy: class dimension 1, ignore_index -100, no smoothing.
            Loss::CrossEntropy => {
                outputs.f_cross_entropy_loss::<Tensor>(targets, None, mean, -100, 0.0)?
            }
            Loss::Nll => outputs.f_nll_loss::<Tensor>(targets, None, mean, -100)?,
            Loss::BceWithLogits => {
                outputs.f_binary_cross_entropy_with_logits::<Tensor>(targets, None, None, mean)?
            }
        })
    }

    /// An error unless `outputs` and `targets` have the shapes the loss takes, without
    /// broadcasting.
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

    /// Right answers in a batch, for classification losses: an int64 scalar on the outputs'
    /// device, not read back.
    pub fn correct(self, outputs: &Tensor, targets: &Tensor) -> Result<Option<Tensor>> {
        Ok(match self {
            Loss::CrossEntropy | Loss::Nll => Some(correct_classes(outputs, targets)?),
            Loss::BceWithLogits => Some(correct_binary(outputs, targets)?),
            _ => None,
        })
    }

    /// Checks the targets' dtype (and class range, given the number of classes) before training.
    /// Float targets must have the dtype of the model's output (`output`): libtorch computes a
    /// mixed-dtype loss but its backward pass fails ("Found dtype Double but expected Float").
    pub fn check_targets(
        self,
        targets: &Tensor,
        key: &str,
        classes: Option<i64>,
        output: Kind,
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
            if let Some(classes) = classes {
                let (lo, hi) = (
                    targets.f_min()?.f_int64_value(&[])?,
                    targets.f_max()?.f_int64_value(&[])?,
                );
                if lo < 0 || hi >= classes {
                    return Err(Error::Data(format!(
                        "'{key}' {:?} holds class indices in [{lo}, {hi}] but the model outputs \
                         {classes} classes (output dimension 1), so they must lie in [0, {}]",
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

/// Number of right answers in a batch of class logits `[N, C, …]` against class indices `[N, …]`,
/// as an int64 scalar left on the logits' device.
fn correct_classes(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let predicted = logits.f_argmax(1, false)?;
    Ok(predicted.f_eq_tensor(targets)?.f_sum(Kind::Int64)?)
}

/// Number of right answers for binary logits against 0/1 float targets of the same shape.
fn correct_binary(logits: &Tensor, targets: &Tensor) -> Result<Tensor> {
    let predicted = logits.f_gt(0.0)?.f_to_kind(targets.kind())?;
    Ok(predicted.f_eq_tensor(targets)?.f_sum(Kind::Int64)?)
}

/// Whether a tensor dtype is a floating-point one.
pub fn is_float(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Float | Kind::Double | Kind::Half | Kind::BFloat16
    )
}
