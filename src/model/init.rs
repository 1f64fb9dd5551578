//! The draws of `torch.nn.init` that the layers use, on the CPU generator as PyTorch makes them
//! (`torch.empty` then an in-place draw), and the registration of what they drew.
use tch::nn::Path;
use tch::{Device, Kind, Tensor};

use crate::error::Result;

/// `init.uniform_(torch.empty(shape), -bound, bound)`.
pub(crate) fn uniform(shape: &[i64], bound: f64) -> Result<Tensor> {
    let mut t = Tensor::f_empty(shape, (Kind::Float, Device::Cpu))?;
    let _ = tch::no_grad(|| t.f_uniform_(-bound, bound))?;
    Ok(t)
}

/// `init.normal_(torch.empty(shape), mean, std)`.
pub(crate) fn normal(shape: &[i64], mean: f64, std: f64) -> Result<Tensor> {
    let mut t = Tensor::f_empty(shape, (Kind::Float, Device::Cpu))?;
    let _ = tch::no_grad(|| t.f_normal_(mean, std))?;
    Ok(t)
}

/// The bound of `kaiming_uniform_(w, a=math.sqrt(5))` for a weight whose `fan_in` is
/// `w.size(1) * prod(w.shape[2:])`: `sqrt(3) * gain / sqrt(fan_in)`, `gain = sqrt(2 / (1 + a²))`,
/// in the same float operations as `torch/nn/init.py`.
pub(crate) fn kaiming_uniform_bound(fan_in: i64) -> f64 {
    let a = 5f64.sqrt();
    let gain = (2.0 / (1.0 + a * a)).sqrt();
    3f64.sqrt() * (gain / (fan_in as f64).sqrt())
}

/// The bias bound of `nn.Linear` and `nn.ConvNd`: `1 / math.sqrt(fan_in)` (0 when `fan_in` is 0,
/// where PyTorch draws nothing).
pub(crate) fn bias_bound(fan_in: i64) -> f64 {
    if fan_in > 0 {
        1.0 / (fan_in as f64).sqrt()
    } else {
        0.0
    }
}

/// A trainable parameter named `name`, a copy of `t` on the store's device.
pub(crate) fn parameter(vs: &Path, name: &str, t: &Tensor) -> Result<Tensor> {
    Ok(vs.f_var_copy(name, t)?)
}

/// A buffer (`register_buffer`): a non-trainable variable of the store, so it is saved and
/// loaded with the state_dict but no optimizer, clipping or parameter group ever sees it. Its
/// dtype is `t`'s (`num_batches_tracked` stays int64).
pub(crate) fn buffer(vs: &Path, name: &str, t: &Tensor) -> Result<Tensor> {
    // A fresh tensor on the store's device, never an alias of `t`.
    let mut b = Tensor::f_empty(t.size(), (t.kind(), vs.device()))?;
    tch::no_grad(|| b.f_copy_(t))?;
    Ok(vs.add(name, b, false))
}
