//! `RNNBase.flatten_parameters()` for [`Lstm`](super::Lstm) and [`Gru`](super::Gru): on CUDA
//! with cuDNN the weights become views into one buffer in cuDNN's layout
//! (`torch._cudnn_rnn_flatten_weight`, which PyTorch and tch's own `nn::rnn` call), so cuDNN
//! runs on them in place. Without it libtorch copies them into a buffer at every call ("RNN
//! module weights are not part of single contiguous chunk of memory") and the forward's bits
//! differ from PyTorch's. On the CPU PyTorch leaves the weights alone, and so does this.
//! Loading weights (`load_state_dict`: `copy_` into each parameter) keeps them in the buffer,
//! and the harness builds a model on its device and never moves it, so the layer flattens once,
//! when it is made. The CUDA path has not run yet: it was written without a GPU.
use tch::Tensor;

use super::rnn::RnnWeights;
use crate::error::Result;

/// What [`RnnWeights::flatten_parameters`] did, or why it left the weights alone (PyTorch's
/// early returns).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flatten {
    /// Every check passed: the weights can be flattened.
    Ready,
    /// The weights are views into one buffer now.
    Done,
    /// The weights are not all of one dtype.
    MixedKinds,
    /// Two weights share memory (tied weights).
    Shared,
    /// A weight is not on CUDA, or cuDNN does not take it (always so on the CPU).
    NotCudnn,
}

/// PyTorch's checks before flattening `params` (in `_flat_weights` order).
pub fn flatten_plan(params: &[&Tensor]) -> Flatten {
    let Some(first) = params.first() else {
        return Flatten::NotCudnn;
    };
    if params.iter().any(|p| p.kind() != first.kind()) {
        return Flatten::MixedKinds;
    }
    let mut starts: Vec<usize> = params.iter().map(|p| p.data_ptr() as usize).collect();
    starts.sort_unstable();
    starts.dedup();
    if starts.len() != params.len() {
        return Flatten::Shared;
    }
    if params
        .iter()
        .any(|p| !p.device().is_cuda() || !p.cudnn_is_acceptable())
    {
        return Flatten::NotCudnn;
    }
    Flatten::Ready
}

/// Whether every one of `params` lies inside `buffer`'s memory, none overlapping another: what
/// flattening leaves behind.
pub fn views_of(buffer: &Tensor, params: &[&Tensor]) -> bool {
    let bytes = |t: &Tensor| t.numel() * t.kind().elt_size_in_bytes();
    let start = buffer.data_ptr() as usize;
    let end = start + bytes(buffer);
    let mut ranges: Vec<(usize, usize)> = params
        .iter()
        .map(|p| (p.data_ptr() as usize, p.data_ptr() as usize + bytes(p)))
        .collect();
    ranges.sort_unstable();
    let inside = ranges.iter().all(|&(a, b)| a >= start && b <= end);
    inside && ranges.windows(2).all(|pair| pair[0].1 <= pair[1].0)
}

impl RnnWeights {
    /// `flatten_parameters()`: on CUDA with cuDNN, the weights moved into one buffer in cuDNN's
    /// layout (their values unchanged); elsewhere nothing happens, and the reason is returned.
    pub fn flatten_parameters(&mut self) -> Result<Flatten> {
        let buffer = {
            let params = self.params();
            let plan = flatten_plan(&params);
            if plan != Flatten::Ready {
                return Ok(plan);
            }
            let c = &self.config;
            // cuDNN's mode (cudnnRNNMode_t): CUDNN_LSTM 2, CUDNN_GRU 3; no projections.
            let mode = if self.gates == 4 { 2 } else { 3 };
            let per_layer = if c.bias { 4 } else { 2 };
            tch::no_grad(|| {
                Tensor::f_internal_cudnn_rnn_flatten_weight(
                    &params,
                    per_layer,
                    self.input_size,
                    mode,
                    self.hidden_size,
                    0,
                    c.num_layers,
                    c.batch_first,
                    c.bidirectional,
                )
            })?
        };
        self.buffer = Some(buffer);
        Ok(Flatten::Done)
    }

    /// Whether the weights are views into the one buffer flattening made (never on the CPU).
    pub fn is_flattened(&self) -> bool {
        self.buffer
            .as_ref()
            .is_some_and(|buffer| views_of(buffer, &self.params()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{gru, lstm, RnnConfig};
    use tch::{nn::VarStore, Device, Kind};

    /// On the CPU, as in PyTorch, the weights stay where they are.
    #[test]
    fn the_cpu_leaves_the_weights_alone() {
        let vs = VarStore::new(Device::Cpu);
        let mut layer = gru(&vs.root(), 3, 4, RnnConfig::default()).unwrap();
        let before: Vec<usize> = layer
            .0
            .params()
            .iter()
            .map(|p| p.data_ptr() as usize)
            .collect();
        assert_eq!(layer.0.flatten_parameters().unwrap(), Flatten::NotCudnn);
        let after: Vec<usize> = layer
            .0
            .params()
            .iter()
            .map(|p| p.data_ptr() as usize)
            .collect();
        assert_eq!(before, after);
        assert!(!layer.0.is_flattened());
    }

    #[test]
    fn the_plan_makes_pytorchs_checks() {
        let vs = VarStore::new(Device::Cpu);
        let layer = lstm(&vs.root(), 3, 4, RnnConfig::default()).unwrap();
        let params = layer.0.params();
        assert_eq!(flatten_plan(&params), Flatten::NotCudnn);
        let double = params[0].to_kind(Kind::Double);
        let mixed = [&double, params[1]];
        assert_eq!(flatten_plan(&mixed), Flatten::MixedKinds);
        let tied = [params[0], params[0]];
        assert_eq!(flatten_plan(&tied), Flatten::Shared);
        assert_eq!(flatten_plan(&[]), Flatten::NotCudnn);
    }

    /// Weights set into one buffer, as `_cudnn_rnn_flatten_weight` sets them on CUDA, are
    /// recognised as its views, with their values kept; separate tensors are not.
    #[test]
    fn views_of_one_buffer_are_recognised() {
        let vs = VarStore::new(Device::Cpu);
        let layer = gru(&vs.root(), 3, 4, RnnConfig::default()).unwrap();
        let params = layer.0.params();
        let values: Vec<Tensor> = params.iter().map(|p| p.copy()).collect();
        assert!(!views_of(params[0], &params), "separate tensors");
        let total: i64 = params.iter().map(|p| p.numel() as i64).sum();
        let buffer = Tensor::zeros([total], (Kind::Float, Device::Cpu));
        tch::no_grad(|| {
            let mut offset = 0;
            for p in &params {
                let (size, stride) = (p.size(), p.stride());
                let value = p.copy();
                let mut p = p.shallow_clone();
                let _ = p.set_source_tensor_storage_offset_(&buffer, offset, &size, &stride);
                p.copy_(&value);
                offset += p.numel() as i64;
            }
        });
        assert!(views_of(&buffer, &params));
        for (p, v) in params.iter().zip(&values) {
            assert!(p.equal(v));
        }
        let outside = Tensor::zeros([2], (Kind::Float, Device::Cpu));
        assert!(!views_of(&buffer, &[params[0], &outside]));
        let overlapping = buffer.narrow(0, 0, 2);
        assert!(!views_of(&buffer, &[params[0], &overlapping]));
    }
}
