//! Loss functions. Each returns the *mean* over the batch, as PyTorch's criteria do by default;
//! the training loop turns it back into a sum with the batch size.
use std::fmt;
use std::str::FromStr;

use tch::{Kind, Reduction, Tensor};

use crate::error::{Error, Result};
use crate::metrics::{correct_binary, correct_classes};

/// A criterion, named as on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Loss {
    /// `F.mse_loss`; float targets of the output's shape.
    Mse,
    /// `F.l1_loss`; float targets of the output's shape.
    L1,
    /// `F.smooth_l1_loss` (beta 1.0); float targets of the output's shape.
    SmoothL1,
    /// `F.huber_loss` (delta 1.0); float targets of the output's shape.
    Huber,
    /// `F.cross_entropy`: logits `[N, C, …]`, int64 class indices `[N, …]`.
    CrossEntropy,
    /// `F.nll_loss`: log-probabilities `[N, C]`, int64 class indices `[N]`.
    Nll,
    /// `F.binary_cross_entropy_with_logits`: logits and 0/1 float targets of the same shape.
    BceWithLogits,
}

impl Loss {
    /// Every loss, in command-line order.
    pub const ALL: [Loss; 7] = [
        Loss::Mse,
        Loss::L1,
        Loss::SmoothL1,
        Loss::Huber,
        Loss::CrossEntropy,
        Loss::Nll,
        Loss::BceWithLogits,
    ];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            Loss::Mse => "mse",
            Loss::L1 => "l1",
            Loss::SmoothL1 => "smooth-l1",
            Loss::Huber => "huber",
            Loss::CrossEntropy => "cross-entropy",
            Loss::Nll => "nll",
            Loss::BceWithLogits => "bce-with-logits",
        }
    }

    /// Whether targets are class indices (int64) rather than floats.
    pub fn takes_class_indices(self) -> bool {
        matches!(self, Loss::CrossEntropy | Loss::Nll)
    }

    /// Whether the task has an accuracy.
    pub fn is_classification(self) -> bool {
        matches!(self, Loss::CrossEntropy | Loss::Nll | Loss::BceWithLogits)
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

    /// Right answers in a batch, for classification losses.
    pub fn count_correct(self, outputs: &Tensor, targets: &Tensor) -> Result<Option<u64>> {
        match self.correct(outputs, targets)? {
            Some(correct) => Ok(Some(correct.f_int64_value(&[])? as u64)),
            None => Ok(None),
        }
    }

    /// [`Loss::count_correct`] as an int64 scalar on the outputs' device, not read back.
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

impl fmt::Display for Loss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Loss {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Loss::ALL
            .into_iter()
            .find(|l| l.name() == s)
            .ok_or_else(|| {
                let names: Vec<_> = Loss::ALL.iter().map(|l| l.name()).collect();
                Error::Config(format!(
                    "unknown loss '{s}' (expected one of: {})",
                    names.join(", ")
                ))
            })
    }
}

impl TryFrom<String> for Loss {
    type Error = Error;

    fn try_from(s: String) -> Result<Self> {
        s.parse()
    }
}

impl From<Loss> for String {
    fn from(l: Loss) -> String {
        l.name().to_string()
    }
}

/// Whether a tensor dtype is a floating-point one.
pub fn is_float(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Float | Kind::Double | Kind::Half | Kind::BFloat16
    )
}
