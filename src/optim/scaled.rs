//! `torch.add(a, b, alpha=x)`, `addcmul(…, value=x)` and `addcdiv(…, value=x)` for tch, whose
//! generated API drops the `alpha`/`value` scalars.
//!
//! PyTorch computes `a + alpha * b` with a fused multiply-add (its CPU kernel calls `vec::fmadd`).
//! `a.addcmul(b, alpha_tensor)` evaluates `a + 1·b·alpha` in the same fused way, and
//! `a.addcdiv(b·x, c)` equals `a.addcdiv(b, c, value=x)` because the kernel scales `b` first. The
//! optimizer tests check these identities against `torch.optim` itself.
use tch::Tensor;

use crate::error::Result;

/// A scalar `alpha` as a 0-dimensional tensor of `like`'s dtype and device, built once and reused.
pub(super) fn scalar_like(like: &Tensor, alpha: f64) -> Result<Tensor> {
    Ok(Tensor::f_full(
        [] as [i64; 0],
        alpha,
        (like.kind(), like.device()),
    )?)
}

/// `a.add(b, alpha=alpha)` as a new tensor; `alpha` from [`scalar_like`].
pub(super) fn add_scaled(a: &Tensor, b: &Tensor, alpha: &Tensor) -> Result<Tensor> {
    Ok(a.f_addcmul(b, alpha)?)
}

/// `a.add_(b, alpha=alpha)` in place; `alpha` from [`scalar_like`].
pub(super) fn add_scaled_(a: &mut Tensor, b: &Tensor, alpha: &Tensor) -> Result<()> {
    let _ = a.f_addcmul_(b, alpha)?;
    Ok(())
}

/// `a.add(b, alpha=alpha)` for a Python-float `alpha` (made into a scalar of `a`'s dtype).
pub(super) fn add_alpha(a: &Tensor, b: &Tensor, alpha: f64) -> Result<Tensor> {
    add_scaled(a, b, &scalar_like(a, alpha)?)
}

/// `a.add_(b, alpha=alpha)` for a Python-float `alpha`.
pub(super) fn add_alpha_(a: &mut Tensor, b: &Tensor, alpha: f64) -> Result<()> {
    let alpha = scalar_like(a, alpha)?;
    add_scaled_(a, b, &alpha)
}

/// `a.addcmul(b, c, value=value)`: the kernel computes `a + value·b·c`, scaling `b` first.
pub(super) fn addcmul_value(a: &Tensor, b: &Tensor, c: &Tensor, value: f64) -> Result<Tensor> {
    Ok(a.f_addcmul(&b.f_mul_scalar(value)?, c)?)
}

/// `a.addcmul_(b, c, value=value)`.
pub(super) fn addcmul_value_(a: &mut Tensor, b: &Tensor, c: &Tensor, value: f64) -> Result<()> {
    let _ = a.f_addcmul_(&b.f_mul_scalar(value)?, c)?;
    Ok(())
}

/// `a.addcdiv_(b, c, value=value)`: the kernel computes `a + value·b / c`, scaling `b` first.
pub(super) fn addcdiv_value_(a: &mut Tensor, b: &Tensor, c: &Tensor, value: f64) -> Result<()> {
    let _ = a.f_addcdiv_(&b.f_mul_scalar(value)?, c)?;
    Ok(())
}
