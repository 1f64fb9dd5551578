//! Parameter-free pieces of a PyTorch model, each the ATen op its `torch.nn.functional`
//! namesake calls, with that function's defaults.
use tch::Tensor;

use crate::error::Result;

/// Options of the pooling functions; the defaults are PyTorch's (`stride=None` means the
/// kernel size, padding 0, `ceil_mode=False`, `count_include_pad=True` for average pooling).
#[derive(Debug, Clone, Copy)]
pub struct PoolConfig {
    pub stride: Option<i64>,
    pub padding: i64,
    /// Max pooling only.
    pub dilation: i64,
    pub ceil_mode: bool,
    /// Average pooling only.
    pub count_include_pad: bool,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            stride: None,
            padding: 0,
            dilation: 1,
            ceil_mode: false,
            count_include_pad: true,
        }
    }
}

/// `F.max_pool1d(xs, kernel)`: stride = kernel.
pub fn max_pool1d(xs: &Tensor, kernel: i64) -> Result<Tensor> {
    max_pool1d_with(xs, kernel, PoolConfig::default())
}

/// `F.max_pool1d(xs, kernel, stride, padding, dilation, ceil_mode)`.
pub fn max_pool1d_with(xs: &Tensor, kernel: i64, c: PoolConfig) -> Result<Tensor> {
    let stride = c.stride.unwrap_or(kernel);
    Ok(xs.f_max_pool1d([kernel], [stride], [c.padding], [c.dilation], c.ceil_mode)?)
}

/// `F.max_pool2d(xs, kernel)`: a square window, stride = kernel.
pub fn max_pool2d(xs: &Tensor, kernel: i64) -> Result<Tensor> {
    max_pool2d_with(xs, kernel, PoolConfig::default())
}

/// `F.max_pool2d(xs, kernel, stride, padding, dilation, ceil_mode)` (square).
pub fn max_pool2d_with(xs: &Tensor, kernel: i64, c: PoolConfig) -> Result<Tensor> {
    let stride = c.stride.unwrap_or(kernel);
    let (k, s, p, d) = ([kernel; 2], [stride; 2], [c.padding; 2], [c.dilation; 2]);
    Ok(xs.f_max_pool2d(k, s, p, d, c.ceil_mode)?)
}

/// `F.avg_pool2d(xs, kernel)`: a square window, stride = kernel.
pub fn avg_pool2d(xs: &Tensor, kernel: i64) -> Result<Tensor> {
    avg_pool2d_with(xs, kernel, PoolConfig::default())
}

/// `F.avg_pool2d(xs, kernel, stride, padding, ceil_mode, count_include_pad)` (square, no
/// `divisor_override`).
pub fn avg_pool2d_with(xs: &Tensor, kernel: i64, c: PoolConfig) -> Result<Tensor> {
    let stride = c.stride.unwrap_or(kernel);
    let (k, s, p) = ([kernel; 2], [stride; 2], [c.padding; 2]);
    Ok(xs.f_avg_pool2d(k, s, p, c.ceil_mode, c.count_include_pad, None)?)
}

/// `F.adaptive_avg_pool2d(xs, (height, width))`.
pub fn adaptive_avg_pool2d(xs: &Tensor, output_size: [i64; 2]) -> Result<Tensor> {
    Ok(xs.f_adaptive_avg_pool2d(output_size)?)
}

/// `torch.flatten(xs, start_dim, end_dim)`; `nn.Flatten()` is `flatten(xs, 1, -1)`.
pub fn flatten(xs: &Tensor, start_dim: i64, end_dim: i64) -> Result<Tensor> {
    Ok(xs.f_flatten(start_dim, end_dim)?)
}

/// `F.relu(xs)`.
pub fn relu(xs: &Tensor) -> Result<Tensor> {
    Ok(xs.f_relu()?)
}

/// `F.gelu(xs)` (`approximate='none'`, the exact erf form).
pub fn gelu(xs: &Tensor) -> Result<Tensor> {
    Ok(xs.f_gelu("none")?)
}

/// `torch.tanh(xs)`.
pub fn tanh(xs: &Tensor) -> Result<Tensor> {
    Ok(xs.f_tanh()?)
}

/// `torch.sigmoid(xs)`.
pub fn sigmoid(xs: &Tensor) -> Result<Tensor> {
    Ok(xs.f_sigmoid()?)
}

/// `F.leaky_relu(xs)` with PyTorch's default `negative_slope=0.01` (tch 0.24 binds no other).
pub fn leaky_relu(xs: &Tensor) -> Result<Tensor> {
    Ok(xs.f_leaky_relu()?)
}

/// `F.log_softmax(xs, dim)`.
pub fn log_softmax(xs: &Tensor, dim: i64) -> Result<Tensor> {
    Ok(xs.f_log_softmax(dim, None)?)
}

/// `F.dropout(xs, p, training=train)` (see [`super::Dropout`] for the layer).
pub fn dropout(xs: &Tensor, p: f64, train: bool) -> Result<Tensor> {
    super::dropout(p)?.forward_t(xs, train)
}
