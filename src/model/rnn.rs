//! LSTM and GRU layers as PyTorch's `nn.LSTM` / `nn.GRU` make and run them.
//!
//! Parameters are created as `RNNBase.__init__` creates them — per layer, per direction:
//! `weight_ih_l{k}[_reverse]` `[gates*hidden, in]`, `weight_hh_l{k}[_reverse]` `[gates*hidden,
//! hidden]`, `bias_ih_…`, `bias_hh_…` — and drawn as `reset_parameters` draws them: every one
//! `U(±1/sqrt(hidden))`, in that (`self.parameters()`) order. The forward calls `torch.lstm` /
//! `torch.gru` with them in that order (`_flat_weights`), so the gate order is PyTorch's. On
//! CUDA they are flattened into one cuDNN buffer first, as PyTorch does (`rnn_flatten.rs`).
use tch::nn::Path;
use tch::Tensor;

use super::init::{parameter, uniform};
use crate::error::{Error, Result};

/// Options of an [`Lstm`] or [`Gru`], with PyTorch's defaults.
#[derive(Debug, Clone, Copy)]
pub struct RnnConfig {
    pub num_layers: i64,
    pub bias: bool,
    /// Input and output `[batch, seq, feature]` instead of `[seq, batch, feature]`.
    pub batch_first: bool,
    /// Dropout on the outputs of every layer but the last, in training mode only.
    pub dropout: f64,
    pub bidirectional: bool,
}

impl Default for RnnConfig {
    fn default() -> Self {
        RnnConfig {
            num_layers: 1,
            bias: true,
            batch_first: false,
            dropout: 0.0,
            bidirectional: false,
        }
    }
}

/// What LSTM and GRU share: the flat weights in `_flat_weights` order and the sizes.
#[derive(Debug)]
pub struct RnnWeights {
    /// `(state_dict name, parameter)` in `_flat_weights` order.
    pub flat: Vec<(String, Tensor)>,
    pub hidden_size: i64,
    pub config: RnnConfig,
    name: &'static str,
    pub(super) input_size: i64,
    /// 4 for LSTM, 3 for GRU.
    pub(super) gates: i64,
    /// The one buffer the weights are views into after `flatten_parameters` (CUDA only).
    pub(super) buffer: Option<Tensor>,
}

/// `nn.LSTM`; `forward_t` returns `(output, (h_n, c_n))`.
#[derive(Debug)]
pub struct Lstm(pub RnnWeights);

/// `nn.GRU`; `forward_t` returns `(output, h_n)`.
#[derive(Debug)]
pub struct Gru(pub RnnWeights);

/// `nn.LSTM(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional)`.
pub fn lstm(vs: &Path, input_size: i64, hidden_size: i64, config: RnnConfig) -> Result<Lstm> {
    Ok(Lstm(rnn(vs, input_size, hidden_size, config, 4, "LSTM")?))
}

/// `nn.GRU(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional)`.
pub fn gru(vs: &Path, input_size: i64, hidden_size: i64, config: RnnConfig) -> Result<Gru> {
    Ok(Gru(rnn(vs, input_size, hidden_size, config, 3, "GRU")?))
}

fn rnn(
    vs: &Path,
    input_size: i64,
    hidden_size: i64,
    config: RnnConfig,
    gates: i64,
    name: &'static str,
) -> Result<RnnWeights> {
    let bad = |m: &str| Err(Error::Config(format!("{name}: {m}")));
    if !(0.0..=1.0).contains(&config.dropout) {
        return bad("dropout should be a number in range [0, 1]");
    }
    if input_size <= 0 || hidden_size <= 0 || config.num_layers <= 0 {
        return bad("input_size, hidden_size and num_layers must be greater than zero");
    }
    let directions = if config.bidirectional { 2 } else { 1 };
    let gate_size = gates * hidden_size;
    let bound = 1.0 / (hidden_size as f64).sqrt();
    let mut flat = Vec::new();
    for layer in 0..config.num_layers {
        for direction in 0..directions {
            let input = if layer == 0 {
                input_size
            } else {
                hidden_size * directions
            };
            let suffix = if direction == 1 { "_reverse" } else { "" };
            let mut shapes = vec![
                ("weight_ih", vec![gate_size, input]),
                ("weight_hh", vec![gate_size, hidden_size]),
            ];
            if config.bias {
                shapes.push(("bias_ih", vec![gate_size]));
                shapes.push(("bias_hh", vec![gate_size]));
            }
            for (kind, shape) in shapes {
                let name = format!("{kind}_l{layer}{suffix}");
                let drawn = uniform(&shape, bound)?;
                flat.push((name.clone(), parameter(vs, &name, &drawn)?));
            }
        }
    }
    let mut weights = RnnWeights {
        flat,
        hidden_size,
        config,
        name,
        input_size,
        gates,
        buffer: None,
    };
    weights.flatten_parameters()?; // as nn.LSTM/nn.GRU's __init__ (rnn_flatten.rs)
    Ok(weights)
}

/// An input made batched as `RNNBase.forward` makes it, with a zero initial state.
struct Prepared {
    input: Tensor,
    batched: bool,
}

impl RnnWeights {
    fn prepare(&self, xs: &Tensor) -> Result<Prepared> {
        let dims = xs.dim();
        if dims != 2 && dims != 3 {
            return Err(Error::Data(format!(
                "{}: Expected input to be 2D or 3D, got {dims}D instead",
                self.name
            )));
        }
        let batched = dims == 3;
        let input = if batched {
            xs.shallow_clone()
        } else {
            xs.f_unsqueeze(self.batch_dim())?
        };
        Ok(Prepared { input, batched })
    }

    fn batch_dim(&self) -> i64 {
        if self.config.batch_first {
            0
        } else {
            1
        }
    }

    /// `torch.zeros(num_layers * num_directions, max_batch_size, hidden_size)` like the input.
    fn zero_state(&self, input: &Tensor) -> Result<Tensor> {
        let directions = if self.config.bidirectional { 2 } else { 1 };
        let batch = input.size()[self.batch_dim() as usize];
        let shape = [self.config.num_layers * directions, batch, self.hidden_size];
        Ok(Tensor::f_zeros(shape, (input.kind(), input.device()))?)
    }

    /// A given initial state, unsqueezed for an unbatched input as PyTorch does.
    fn given_state(&self, state: &Tensor, batched: bool) -> Result<Tensor> {
        let want = if batched { 3 } else { 2 };
        if state.dim() != want {
            return Err(Error::Data(format!(
                "{}: for {want}-D input the state should be {want}-D, got {:?}",
                self.name,
                state.size()
            )));
        }
        Ok(if batched {
            state.shallow_clone()
        } else {
            state.f_unsqueeze(1)?
        })
    }

    pub(super) fn params(&self) -> Vec<&Tensor> {
        self.flat.iter().map(|(_, t)| t).collect()
    }

    /// Output back to the input's rank (`squeeze(batch_dim)`), states `squeeze(1)`.
    fn finish(&self, output: Tensor, batched: bool) -> Result<Tensor> {
        Ok(if batched {
            output
        } else {
            output.f_squeeze_dim(self.batch_dim())?
        })
    }
}

fn unbatch(state: Tensor, batched: bool) -> Result<Tensor> {
    Ok(if batched {
        state
    } else {
        state.f_squeeze_dim(1)?
    })
}

impl Lstm {
    /// `lstm(xs)` with zero initial states: `(output, (h_n, c_n))`.
    pub fn forward_t(&self, xs: &Tensor, train: bool) -> Result<(Tensor, (Tensor, Tensor))> {
        self.forward_state_t(xs, None, train)
    }

    /// `lstm(xs, (h_0, c_0))`; `None` is PyTorch's `hx=None` (zeros).
    pub fn forward_state_t(
        &self,
        xs: &Tensor,
        state: Option<(&Tensor, &Tensor)>,
        train: bool,
    ) -> Result<(Tensor, (Tensor, Tensor))> {
        let w = &self.0;
        let Prepared { input, batched } = w.prepare(xs)?;
        let (h0, c0) = match state {
            Some((h, c)) => (w.given_state(h, batched)?, w.given_state(c, batched)?),
            None => (w.zero_state(&input)?, w.zero_state(&input)?),
        };
        let c = &w.config;
        let (out, h, cell) = input.f_lstm(
            &[&h0, &c0],
            &w.params(),
            c.bias,
            c.num_layers,
            c.dropout,
            train,
            c.bidirectional,
            c.batch_first,
        )?;
        let out = w.finish(out, batched)?;
        Ok((out, (unbatch(h, batched)?, unbatch(cell, batched)?)))
    }
}

impl Gru {
    /// `gru(xs)` with a zero initial state: `(output, h_n)`.
    pub fn forward_t(&self, xs: &Tensor, train: bool) -> Result<(Tensor, Tensor)> {
        self.forward_state_t(xs, None, train)
    }

    /// `gru(xs, h_0)`; `None` is PyTorch's `hx=None` (zeros).
    pub fn forward_state_t(
        &self,
        xs: &Tensor,
        state: Option<&Tensor>,
        train: bool,
    ) -> Result<(Tensor, Tensor)> {
        let w = &self.0;
        let Prepared { input, batched } = w.prepare(xs)?;
        let h0 = match state {
            Some(h) => w.given_state(h, batched)?,
            None => w.zero_state(&input)?,
        };
        let c = &w.config;
        let (out, h) = input.f_gru(
            &h0,
            &w.params(),
            c.bias,
            c.num_layers,
            c.dropout,
            train,
            c.bidirectional,
            c.batch_first,
        )?;
        Ok((w.finish(out, batched)?, unbatch(h, batched)?))
    }
}
