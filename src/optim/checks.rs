//! The constructor checks of `torch.optim`, as one-line `Error::Config` messages worded as
//! PyTorch words them. Each check is written the way Python writes it (`not 0.0 <= lr`), so NaN is
//! refused where PyTorch refuses it.
use crate::error::{Error, Result};

/// `Err(Error::Config(message()))` unless `ok`.
pub(super) fn ensure(ok: bool, message: impl FnOnce() -> String) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::Config(message()))
    }
}

/// `if not 0.0 <= lr: raise ValueError(f"Invalid learning rate: {lr}")`.
pub(super) fn lr(lr: f64) -> Result<()> {
    ensure(0.0 <= lr, || format!("Invalid learning rate: {lr:?}"))
}

/// `if not 0.0 <= eps: raise ValueError(f"Invalid epsilon value: {eps}")`.
pub(super) fn eps(eps: f64) -> Result<()> {
    ensure(0.0 <= eps, || format!("Invalid epsilon value: {eps:?}"))
}

/// `if not 0.0 <= weight_decay: raise ValueError(f"Invalid weight_decay value: {weight_decay}")`.
pub(super) fn weight_decay(weight_decay: f64) -> Result<()> {
    ensure(0.0 <= weight_decay, || {
        format!("Invalid weight_decay value: {weight_decay:?}")
    })
}

/// `if not 0.0 <= betas[i] < 1.0: raise ValueError(f"Invalid beta parameter at index {i}: …")`.
pub(super) fn betas(betas: (f64, f64)) -> Result<()> {
    for (i, beta) in [betas.0, betas.1].into_iter().enumerate() {
        ensure((0.0..1.0).contains(&beta), || {
            format!("Invalid beta parameter at index {i}: {beta:?}")
        })?;
    }
    Ok(())
}

/// The checks Adam's relatives (Adamax, NAdam, RAdam) share, in `__init__`'s order: `lr`, `eps`,
/// both betas, `weight_decay`.
pub(super) fn adam_like(lr: f64, eps: f64, betas: (f64, f64), weight_decay: f64) -> Result<()> {
    self::lr(lr)?;
    self::eps(eps)?;
    self::betas(betas)?;
    self::weight_decay(weight_decay)
}

/// The harness's own wording for SGD's and Adam's checks (`invalid {what}: {v}`), which refuse
/// NaN and infinities as well as what `torch.optim` refuses.
pub(super) fn invalid(what: &str, v: f64) -> Error {
    Error::Config(format!("invalid {what}: {v}"))
}

/// A weight decay that is finite and not negative.
pub(super) fn finite_weight_decay(weight_decay: f64) -> Result<()> {
    ensure(weight_decay.is_finite() && weight_decay >= 0.0, || {
        format!("invalid weight decay (must be finite and >= 0): {weight_decay}")
    })
}
