//! 1-D and 2-D convolutions initialised exactly as PyTorch's `nn.Conv1d` / `nn.Conv2d`.
//!
//! PyTorch (`_ConvNd.reset_parameters`): `kaiming_uniform_(weight, a=math.sqrt(5))` on the weight
//! `[out, in/groups, k…]`, then `bias ~ U(±1/sqrt(fan_in))` with `fan_in = in/groups * prod(k)`,
//! weight drawn first. The forward is `F.conv1d` / `F.conv2d` (`at::conv1d` / `at::conv2d`, or
//! their `padding="same"|"valid"` overloads). Kernel, stride, padding and dilation are square
//! (one number for every spatial dimension); `padding_mode` is PyTorch's default, `"zeros"`.
use tch::nn::Path;
use tch::Tensor;

use super::init::{bias_bound, kaiming_uniform_bound, parameter, uniform};
use super::module_output;
use crate::error::{Error, Result};

/// PyTorch's string padding: `padding="same"` (output as long as the input, stride 1 only) or
/// `padding="valid"` (no padding).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StringPadding {
    Same,
    Valid,
}

impl StringPadding {
    fn as_str(self) -> &'static str {
        match self {
            StringPadding::Same => "same",
            StringPadding::Valid => "valid",
        }
    }
}

/// Options of a convolution, with `nn.Conv2d`'s defaults (stride 1, padding 0, dilation 1,
/// groups 1, bias). `string_padding` replaces the numeric `padding` (which must then be 0).
#[derive(Debug, Clone, Copy)]
pub struct ConvConfig {
    pub stride: i64,
    pub padding: i64,
    pub string_padding: Option<StringPadding>,
    pub dilation: i64,
    pub groups: i64,
    pub bias: bool,
}

/// Options of a [`Conv1d`].
pub type Conv1dConfig = ConvConfig;
/// Options of a [`Conv2d`].
pub type Conv2dConfig = ConvConfig;

impl Default for ConvConfig {
    fn default() -> Self {
        ConvConfig {
            stride: 1,
            padding: 0,
            string_padding: None,
            dilation: 1,
            groups: 1,
            bias: true,
        }
    }
}

/// A convolution over `N` spatial dimensions, registered as `weight` (`[out, in/groups, k…]`)
/// and `bias` (`[out]`) under its path.
#[derive(Debug)]
pub struct Conv<const N: usize> {
    pub weight: Tensor,
    pub bias: Option<Tensor>,
    pub config: ConvConfig,
}

/// `nn.Conv1d`: input `[N, C, L]` or `[C, L]`.
pub type Conv1d = Conv<1>;
/// `nn.Conv2d`: input `[N, C, H, W]` or `[C, H, W]`.
pub type Conv2d = Conv<2>;

/// `nn.Conv1d(in_channels, out_channels, kernel_size, …)` under `vs`.
pub fn conv1d(
    vs: &Path,
    in_channels: i64,
    out_channels: i64,
    kernel: i64,
    config: ConvConfig,
) -> Result<Conv1d> {
    conv(vs, in_channels, out_channels, kernel, config)
}

/// `nn.Conv2d(in_channels, out_channels, kernel_size, …)` under `vs` (a square kernel).
pub fn conv2d(
    vs: &Path,
    in_channels: i64,
    out_channels: i64,
    kernel: i64,
    config: ConvConfig,
) -> Result<Conv2d> {
    conv(vs, in_channels, out_channels, kernel, config)
}

fn conv<const N: usize>(
    vs: &Path,
    in_channels: i64,
    out_channels: i64,
    kernel: i64,
    config: ConvConfig,
) -> Result<Conv<N>> {
    check(in_channels, out_channels, kernel, &config)?;
    let mut shape = vec![out_channels, in_channels / config.groups];
    shape.extend([kernel; N]);
    let fan_in = shape[1] * kernel.pow(N as u32);
    let weight = uniform(&shape, kaiming_uniform_bound(fan_in))?;
    let weight = parameter(vs, "weight", &weight)?;
    let bias = if config.bias {
        let bias = uniform(&[out_channels], bias_bound(fan_in))?;
        Some(parameter(vs, "bias", &bias)?)
    } else {
        None
    };
    Ok(Conv {
        weight,
        bias,
        config,
    })
}

/// The `ValueError`s of `_ConvNd.__init__`, plus sizes PyTorch would leave uninitialised.
fn check(in_channels: i64, out_channels: i64, kernel: i64, c: &ConvConfig) -> Result<()> {
    let bad = |m: String| Err(Error::Config(format!("convolution: {m}")));
    if in_channels <= 0 || out_channels <= 0 || kernel <= 0 {
        return bad(format!(
            "channels and kernel must be positive, got in {in_channels}, out {out_channels}, kernel {kernel}"
        ));
    }
    if c.groups <= 0 {
        return bad("groups must be a positive integer".into());
    }
    if in_channels % c.groups != 0 || out_channels % c.groups != 0 {
        return bad(format!(
            "in_channels {in_channels} and out_channels {out_channels} must be divisible by groups {}",
            c.groups
        ));
    }
    if c.stride <= 0 || c.dilation <= 0 || c.padding < 0 {
        return bad(format!(
            "stride {} and dilation {} must be positive, padding {} non-negative",
            c.stride, c.dilation, c.padding
        ));
    }
    if c.string_padding.is_some() && c.padding != 0 {
        return bad("give either padding or string_padding, not both".into());
    }
    if c.string_padding == Some(StringPadding::Same) && c.stride != 1 {
        return bad("padding='same' is not supported for strided convolutions".into());
    }
    Ok(())
}

impl<const N: usize> Conv<N> {
    /// `F.conv1d` / `F.conv2d(xs, weight, bias, stride, padding, dilation, groups)`.
    pub fn forward(&self, xs: &Tensor) -> Result<Tensor> {
        let dims = xs.dim();
        if dims != N + 1 && dims != N + 2 {
            return Err(Error::Data(format!(
                "Conv{N}d: expected {}D (unbatched) or {}D (batched) input, got {dims}D {:?}",
                N + 1,
                N + 2,
                xs.size()
            )));
        }
        let c = &self.config;
        let (stride, dilation) = ([c.stride; N], [c.dilation; N]);
        let bias = self.bias.as_ref();
        let out = match (N, c.string_padding) {
            (1, None) => xs.f_conv1d(
                &self.weight,
                bias,
                stride,
                [c.padding; N],
                dilation,
                c.groups,
            ),
            (1, Some(p)) => {
                xs.f_conv1d_padding(&self.weight, bias, stride, p.as_str(), dilation, c.groups)
            }
            (_, None) => xs.f_conv2d(
                &self.weight,
                bias,
                stride,
                [c.padding; N],
                dilation,
                c.groups,
            ),
            (_, Some(p)) => {
                xs.f_conv2d_padding(&self.weight, bias, stride, p.as_str(), dilation, c.groups)
            }
        };
        Ok(out?)
    }
}

/// For `nn::seq()`: [`Conv::forward`], panicking on an error as tch's own layers do.
impl<const N: usize> tch::nn::Module for Conv<N> {
    fn forward(&self, xs: &Tensor) -> Tensor {
        module_output(self.forward(xs))
    }
}
