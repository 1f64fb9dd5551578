//! Batch normalisation as PyTorch's `nn.BatchNorm1d` / `nn.BatchNorm2d` does it.
//!
//! `weight` (ones) and `bias` (zeros) are parameters; `running_mean` (zeros), `running_var`
//! (ones) and `num_batches_tracked` (int64 0) are buffers: non-trainable variables of the store,
//! saved and loaded with the state_dict, never seen by an optimizer. The forward is
//! `_BatchNorm.forward` line for line: in training mode `num_batches_tracked += 1` and the
//! momentum (or `1 / num_batches_tracked` for a cumulative average), then `torch.batch_norm` —
//! or, inside a data-parallel run's `SyncBatchNorm` scope, `SyncBatchNorm`'s function over every
//! rank's rows (`crate::distributed::sync_batch_norm`).
use tch::nn::Path;
use tch::{Kind, Tensor};

use super::init::{buffer, parameter};
use super::module_output;
use crate::distributed::{sync_batch_norm, SyncBatchNormArgs};
use crate::error::{Error, Result};

/// Options of a [`BatchNorm`], with PyTorch's defaults.
#[derive(Debug, Clone, Copy)]
pub struct BatchNormConfig {
    pub eps: f64,
    /// `None`: a cumulative moving average (`momentum=None`).
    pub momentum: Option<f64>,
    pub affine: bool,
    pub track_running_stats: bool,
}

impl Default for BatchNormConfig {
    fn default() -> Self {
        BatchNormConfig {
            eps: 1e-5,
            momentum: Some(0.1),
            affine: true,
            track_running_stats: true,
        }
    }
}

thread_local! {
    /// Inside [`cumulative_average`]: every layer behaves as with `momentum=None`.
    static CUMULATIVE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs `f` with every batch-norm layer's momentum `None` (a cumulative average), as
/// `swa_utils.update_bn` sets it on each module for its pass.
pub fn cumulative_average<T>(f: impl FnOnce() -> T) -> T {
    let before = CUMULATIVE.with(|c| c.replace(true));
    let result = f();
    CUMULATIVE.with(|c| c.set(before));
    result
}

/// Running statistics of a [`BatchNorm`] that tracks them.
#[derive(Debug)]
pub struct RunningStats {
    pub mean: Tensor,
    pub var: Tensor,
    pub num_batches_tracked: Tensor,
}

/// A batch-norm layer; `forward_t`'s `train` is PyTorch's `module.training`.
#[derive(Debug)]
pub struct BatchNorm {
    pub weight: Option<Tensor>,
    pub bias: Option<Tensor>,
    pub running: Option<RunningStats>,
    pub config: BatchNormConfig,
    /// The input ranks accepted (`[2, 3]` for 1-D, `[4]` for 2-D), and the layer's name.
    dims: &'static [usize],
    name: &'static str,
}

/// `nn.BatchNorm1d(num_features, …)`: input `[N, C]` or `[N, C, L]`.
pub fn batch_norm1d(vs: &Path, num_features: i64, config: BatchNormConfig) -> Result<BatchNorm> {
    batch_norm(vs, num_features, config, &[2, 3], "BatchNorm1d")
}

/// `nn.BatchNorm2d(num_features, …)`: input `[N, C, H, W]`.
pub fn batch_norm2d(vs: &Path, num_features: i64, config: BatchNormConfig) -> Result<BatchNorm> {
    batch_norm(vs, num_features, config, &[4], "BatchNorm2d")
}

fn batch_norm(
    vs: &Path,
    num_features: i64,
    config: BatchNormConfig,
    dims: &'static [usize],
    name: &'static str,
) -> Result<BatchNorm> {
    if num_features <= 0 {
        return Err(Error::Config(format!(
            "{name}: num_features must be positive, got {num_features}"
        )));
    }
    let cpu = (Kind::Float, tch::Device::Cpu);
    // The order of `__init__`: parameters, then buffers (the state_dict's order too).
    let (weight, bias) = if config.affine {
        let w = parameter(vs, "weight", &Tensor::f_ones([num_features], cpu)?)?;
        let b = parameter(vs, "bias", &Tensor::f_zeros([num_features], cpu)?)?;
        (Some(w), Some(b))
    } else {
        (None, None)
    };
    let running = if config.track_running_stats {
        let count = Tensor::f_zeros([], (Kind::Int64, tch::Device::Cpu))?;
        Some(RunningStats {
            mean: buffer(vs, "running_mean", &Tensor::f_zeros([num_features], cpu)?)?,
            var: buffer(vs, "running_var", &Tensor::f_ones([num_features], cpu)?)?,
            num_batches_tracked: buffer(vs, "num_batches_tracked", &count)?,
        })
    } else {
        None
    };
    Ok(BatchNorm {
        weight,
        bias,
        running,
        config,
        dims,
        name,
    })
}

impl BatchNorm {
    /// `_BatchNorm.forward`: batch statistics (updating the running ones) when `train`, the
    /// running statistics otherwise (batch statistics when the layer tracks none).
    pub fn forward_t(&self, xs: &Tensor, train: bool) -> Result<Tensor> {
        let dims = xs.dim();
        if !self.dims.contains(&dims) {
            let want: Vec<String> = self.dims.iter().map(|d| format!("{d}D")).collect();
            return Err(Error::Data(format!(
                "{}: expected {} input (got {dims}D input {:?})",
                self.name,
                want.join(" or "),
                xs.size()
            )));
        }
        let momentum = match CUMULATIVE.with(|c| c.get()) {
            true => None,
            false => self.config.momentum,
        };
        let mut factor = momentum.unwrap_or(0.0);
        if train {
            if let Some(running) = &self.running {
                let mut count = running.num_batches_tracked.shallow_clone();
                let _ = tch::no_grad(|| count.f_add_scalar_(1))?;
                if momentum.is_none() {
                    factor = 1.0 / count.f_int64_value(&[])? as f64;
                }
            }
        }
        let (mean, var) = match &self.running {
            Some(r) => (Some(&r.mean), Some(&r.var)),
            None => (None, None),
        };
        if train {
            let args = SyncBatchNormArgs {
                weight: self.weight.as_ref(),
                bias: self.bias.as_ref(),
                running_mean: mean,
                running_var: var,
                eps: self.config.eps,
                momentum: factor,
            };
            // Data-parallel with SyncBatchNorm: over every rank's rows (a rank may hold none).
            if let Some(out) = sync_batch_norm(xs, &args)? {
                return Ok(out);
            }
            check_batch_size(&xs.size())?;
        }
        let training = train || self.running.is_none();
        Ok(xs.f_batch_norm(
            self.weight.as_ref(),
            self.bias.as_ref(),
            mean,
            var,
            training,
            factor,
            self.config.eps,
            true, // torch.backends.cudnn.enabled
        )?)
    }
}

/// `F.batch_norm`'s `_verify_batch_size`: training needs more than one value per channel.
fn check_batch_size(size: &[i64]) -> Result<()> {
    let values: i64 = size[0] * size[2..].iter().product::<i64>();
    if values == 1 {
        return Err(Error::Data(format!(
            "Expected more than 1 value per channel when training, got input size {size:?}"
        )));
    }
    Ok(())
}

/// For `nn::seq_t()`: [`BatchNorm::forward_t`], panicking on an error as tch's own layers do.
impl tch::nn::ModuleT for BatchNorm {
    fn forward_t(&self, xs: &Tensor, train: bool) -> Tensor {
        module_output(self.forward_t(xs, train))
    }
}
