//! `torch.optim.Muon`: `_single_tensor_muon` and `_zeropower_via_newtonschulz` of PyTorch 2.11,
//! line for line. Muon has neither `maximize` nor a `step` in its state, and takes only 2-D
//! parameters.
//!
//! The Newton–Schulz iteration runs in bfloat16 with `torch.addmm(…, beta=, alpha=)`, whose scalars
//! tch's `addmm` drops; it is run as a batch of one through `baddbmm`, which keeps them and which
//! libtorch's CPU kernel computes with the same `addmm_` (see [`addmm`]). The parity tests check it
//! against `torch.optim.Muon`, on shapes above and below the naive-loop threshold.
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

use super::checks;
use super::scaled::add_alpha_;
use super::slot_macros::{slot_optimizer, slot_state};
use super::slots::{decay_, py_max, Slots};
use crate::error::{Error, Result};

/// `torch.optim.Muon`'s options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MuonConfig {
    pub lr: f64,
    /// Decoupled: `param.mul_(1 - lr * weight_decay)`.
    pub weight_decay: f64,
    pub momentum: f64,
    pub nesterov: bool,
    /// `(a, b, c)` of the quintic Newton–Schulz polynomial.
    pub ns_coefficients: (f64, f64, f64),
    pub eps: f64,
    pub ns_steps: u32,
    /// `None` (as `"original"`), `"original"` or `"match_rms_adamw"`.
    pub adjust_lr_fn: Option<String>,
}

impl Default for MuonConfig {
    fn default() -> Self {
        MuonConfig {
            lr: 1e-3,
            weight_decay: 0.1,
            momentum: 0.95,
            nesterov: true,
            ns_coefficients: (3.4445, -4.7750, 2.0315),
            eps: 1e-7,
            ns_steps: 5,
            adjust_lr_fn: None,
        }
    }
}

impl MuonConfig {
    /// The checks of `Muon.__init__`, and that of `_zeropower_via_newtonschulz` on `ns_steps`
    /// (which Python makes at the first step).
    pub fn validate(&self) -> Result<()> {
        let lr = self.lr;
        checks::ensure(0.0 <= lr, || {
            format!("Learning rate should be >= 0 but is: {lr:?}")
        })?;
        let momentum = self.momentum;
        checks::ensure(0.0 <= momentum, || {
            format!("momentum should be >= 0 but is: {momentum:?}")
        })?;
        let wd = self.weight_decay;
        checks::ensure(0.0 <= wd, || {
            format!("weight decay should be >= 0 but is: {wd:?}")
        })?;
        if let Some(name) = &self.adjust_lr_fn {
            checks::ensure(name == "original" || name == "match_rms_adamw", || {
                format!("Adjust learning rate function {name} is not supported")
            })?;
        }
        checks::ensure(self.ns_steps < 100, || {
            "Number of steps must be less than 100 for computational efficiency".to_string()
        })
    }
}

slot_state!(MuonConfig {
    momentum_buffer: Tensor,
});

/// Muon: momentum orthogonalised by a Newton–Schulz iteration, for 2-D parameters.
pub struct Muon {
    config: MuonConfig,
    slots: Slots<State>,
}

impl Muon {
    /// Muon over `params` (sorted by name), which must all be 2-D.
    pub fn new(config: &MuonConfig, params: Vec<(String, Tensor)>) -> Result<Self> {
        config.validate()?;
        if let Some((name, p)) = params.iter().find(|(_, p)| p.dim() != 2) {
            return Err(Error::Config(format!(
                "Muon only supports 2D parameters whereas we found a parameter with size: {:?} ({name})",
                p.size()
            )));
        }
        Ok(Muon {
            config: config.clone(),
            slots: Slots::new(params),
        })
    }

    fn update(&mut self) -> Result<()> {
        let c = &self.config;
        let fresh = |_: &Tensor, grad: &Tensor| {
            let momentum_buffer = grad.f_zeros_like()?;
            Ok(State { momentum_buffer })
        };
        self.slots.step(false, fresh, |param, grad, s| {
            let buf = &mut s.momentum_buffer;
            let _ = buf.f_lerp_(&grad, 1.0 - c.momentum)?;
            let update = if c.nesterov {
                grad.f_lerp(buf, c.momentum)?
            } else {
                buf.shallow_clone()
            };
            let update = zeropower_via_newtonschulz(&update, c.ns_coefficients, c.ns_steps, c.eps)?;
            let adjusted_lr = adjust_lr(c.lr, c.adjust_lr_fn.as_deref(), &param.size());
            decay_(param, c.lr, c.weight_decay)?;
            // param.add_(update, alpha=-adjusted_lr): the bfloat16 update promoted exactly first
            add_alpha_(param, &update.f_to_kind(param.kind())?, -adjusted_lr)
        })
    }
}

/// `_zeropower_via_newtonschulz`: the quintic iteration on the bfloat16 gradient, on its wide
/// orientation.
fn zeropower_via_newtonschulz(
    grad: &Tensor,
    (a, b, c): (f64, f64, f64),
    ns_steps: u32,
    eps: f64,
) -> Result<Tensor> {
    let size = grad.size();
    let tall = size[0] > size[1];
    let mut ortho_grad = grad.f_to_kind(Kind::BFloat16)?;
    if tall {
        ortho_grad = ortho_grad.f_numpy_t()?;
    }
    let norm = ortho_grad.f_norm()?.f_clamp_min(eps)?;
    let _ = ortho_grad.f_div_(&norm)?;
    // Only the first iteration sees the transposed view; `addmm` returns contiguous tensors.
    let mut transposed = tall;
    for _ in 0..ns_steps {
        let gram_matrix = ortho_grad.f_matmul(&ortho_grad.f_numpy_t()?)?;
        let g = &gram_matrix;
        let gram_update = addmm(Operand::rows(g), g, Operand::rows(g), b, c)?;
        let x = Operand {
            t: &ortho_grad,
            transposed,
        };
        ortho_grad = addmm(x, &gram_update, x, a, 1.0)?;
        transposed = false;
    }
    if tall {
        ortho_grad = ortho_grad.f_numpy_t()?;
    }
    Ok(ortho_grad)
}

/// A matrix and whether it is the transposed view (`.T`) of a contiguous one.
#[derive(Clone, Copy)]
struct Operand<'a> {
    t: &'a Tensor,
    transposed: bool,
}

impl<'a> Operand<'a> {
    fn rows(t: &'a Tensor) -> Self {
        Operand {
            t,
            transposed: false,
        }
    }

    /// The matrix with zero columns appended up to `cols`, in the same memory layout (so that
    /// libtorch's `addmm` picks the same gemm variant for it).
    fn pad_cols(self, cols: i64) -> Result<Tensor> {
        let extra = cols - self.t.size()[1];
        Ok(if self.transposed {
            let base = self.t.f_numpy_t()?.f_constant_pad_nd([0, 0, 0, extra])?;
            base.f_numpy_t()?
        } else {
            self.t.f_constant_pad_nd([0, extra])?
        })
    }
}

/// `torch.addmm(input, mat1, mat2, beta=beta, alpha=alpha)` for bfloat16 matrices. tch's `addmm`
/// drops `beta` and `alpha`, so this runs `baddbmm` on a batch of one, which libtorch computes
/// with that same `addmm_` — but only from 400 multiply-adds on; below, it uses a naive loop whose
/// last bits differ. Smaller products get zero columns appended (each element of a gemm depends
/// only on its row, its column and the contraction) and are cut back after.
fn addmm(input: Operand, mat1: &Tensor, mat2: Operand, beta: f64, alpha: f64) -> Result<Tensor> {
    let (m, k, n) = (mat1.size()[0], mat1.size()[1], mat2.t.size()[1]);
    let cols = if m > 0 && k > 0 && n > 0 && k * m * n < 400 {
        (400 + k * m - 1) / (k * m)
    } else {
        n
    };
    let (input, mat2) = if cols > n {
        (input.pad_cols(cols)?, mat2.pad_cols(cols)?)
    } else {
        (input.t.shallow_clone(), mat2.t.shallow_clone())
    };
    let batch = |t: &Tensor| t.f_unsqueeze(0);
    let out = batch(&input)?.f_baddbmm(&batch(mat1)?, &batch(&mat2)?, beta, alpha)?;
    let out = out.f_squeeze_dim(0)?;
    Ok(if cols > n {
        out.f_narrow(1, 0, n)?.f_contiguous()?
    } else {
        out
    })
}

/// `_adjust_lr`: the learning rate scaled for the parameter's shape `[A, B]`.
fn adjust_lr(lr: f64, adjust_lr_fn: Option<&str>, shape: &[i64]) -> f64 {
    let (a, b) = (shape[0] as f64, shape[1] as f64);
    let adjusted_ratio = match adjust_lr_fn {
        None | Some("original") => py_max(1.0, a / b).sqrt(),
        Some("match_rms_adamw") => 0.2 * py_max(a, b).sqrt(),
        Some(_) => 1.0,
    };
    lr * adjusted_ratio
}

slot_optimizer!(Muon);
