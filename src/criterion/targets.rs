//! The checks that follow from a loss's [`Targets`]: the targets' dtype and class range before
//! training, and each batch's shapes. Written once for every loss, a port's own included.
use tch::{Kind, Tensor};

use super::{LossFn, Targets};
use crate::error::{Error, Result};

/// An error unless `outputs` and `targets` have the shapes `loss` takes, without broadcasting:
/// libtorch would broadcast a model's `[1, 1]` against targets `[64, 1]` and train on a wrong
/// loss.
pub(super) fn check_shapes(loss: &dyn LossFn, outputs: &Tensor, targets: &Tensor) -> Result<()> {
    let (out, tgt) = (outputs.size(), targets.size());
    let classes = matches!(loss.targets(), Targets::ClassIndices { .. });
    let fits = if classes {
        out.len() >= 2 && out.len() == tgt.len() + 1 && out[0] == tgt[0] && out[2..] == tgt[1..]
    } else {
        out == tgt
    };
    if fits {
        return Ok(());
    }
    let needs = if classes {
        "outputs [N, C, …] for targets [N, …]"
    } else {
        "outputs of the targets' shape"
    };
    Err(Error::Data(format!(
        "--loss {}: the model's output {out:?} does not fit the batch's targets {tgt:?} (it \
         needs {needs}: one row per sample)",
        loss.name()
    )))
}

/// The per-sample target shape `loss` needs for outputs shaped `out` (`[1, …]`).
pub(crate) fn target_shape(loss: &dyn LossFn, out: &[i64]) -> Vec<i64> {
    match loss.targets() {
        Targets::ClassIndices { .. } => out[2..].to_vec(),
        Targets::LikeOutputs => out[1..].to_vec(),
    }
}

/// Checks the targets' dtype (and class range, given the number of classes) before training.
/// Targets equal to the ignore index are left out of the range (PyTorch ignores them); a split
/// whose every target is ignored is an error. Float targets must have the dtype of the model's
/// output (`output`): libtorch computes a mixed-dtype loss but its backward pass fails
/// ("Found dtype Double but expected Float").
pub(crate) fn check_targets(
    loss: &dyn LossFn,
    targets: &Tensor,
    key: &str,
    classes: Option<i64>,
    output: Kind,
) -> Result<()> {
    let kind = targets.kind();
    let name = loss.name();
    match loss.targets() {
        Targets::ClassIndices { ignore_index } => {
            if kind != Kind::Int64 {
                return Err(Error::Data(format!(
                    "'{key}' has dtype {kind:?} {:?}; --loss {name} needs int64 class indices",
                    targets.size(),
                )));
            }
            check_class_range(targets, key, classes, ignore_index)
        }
        Targets::LikeOutputs if !is_float(kind) => Err(Error::Data(format!(
            "'{key}' has dtype {kind:?} {:?}; --loss {name} needs float targets",
            targets.size(),
        ))),
        Targets::LikeOutputs if kind != output => Err(Error::Data(format!(
            "'{key}' has dtype {kind:?} {:?} but the model outputs {output:?}; --loss {name} \
             needs targets of the output's dtype",
            targets.size(),
        ))),
        Targets::LikeOutputs => Ok(()),
    }
}

/// Class indices in `[0, classes)`, the ignored ones aside, and at least one not ignored.
fn check_class_range(
    targets: &Tensor,
    key: &str,
    classes: Option<i64>,
    ignore_index: Option<i64>,
) -> Result<()> {
    let kept = match ignore_index {
        Some(ignore) => targets.f_masked_select(&targets.f_ne(ignore)?)?,
        None => targets.f_flatten(0, -1)?,
    };
    if let (0, Some(ignore)) = (kept.numel(), ignore_index) {
        return Err(Error::Data(format!(
            "every target of '{key}' {:?} is the ignore index {ignore}: there is nothing to \
             average",
            targets.size()
        )));
    }
    let Some(classes) = classes.filter(|_| kept.numel() > 0) else {
        return Ok(());
    };
    let (lo, hi) = (
        kept.f_min()?.f_int64_value(&[])?,
        kept.f_max()?.f_int64_value(&[])?,
    );
    if lo < 0 || hi >= classes {
        let or_ignored = ignore_index
            .map(|i| format!(" (or be the ignore index {i})"))
            .unwrap_or_default();
        return Err(Error::Data(format!(
            "'{key}' {:?} holds class indices in [{lo}, {hi}] but the model outputs {classes} \
             classes (output dimension 1), so they must lie in [0, {}]{or_ignored}",
            targets.size(),
            classes - 1
        )));
    }
    Ok(())
}

/// Whether a tensor dtype is a floating-point one.
pub fn is_float(kind: Kind) -> bool {
    matches!(
        kind,
        Kind::Float | Kind::Double | Kind::Half | Kind::BFloat16
    )
}
