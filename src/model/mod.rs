//! Models the harness can train: layers initialised and run as PyTorch initialises and runs them
//! (one file per layer), the parameter-free ops (`functional`), and (in `torchscript`) a user's
//! TorchScript module. The layers are tch `nn::Module`s (`nn::ModuleT` for batch norm and
//! dropout), so they compose with `nn::seq()`/`nn::seq_t()`; the built-in networks made of them
//! are in `crate::nets`, apart, as tch keeps `vision/` apart from `nn/`.
mod batch_norm;
mod batch_rows;
mod conv;
mod dropout;
mod embedding;
pub mod functional;
mod init;
mod layer_norm;
mod linear;
mod rnn;
mod rnn_flatten;
mod torchscript;

pub use batch_norm::{
    batch_norm1d, batch_norm2d, cumulative_average, BatchNorm, BatchNormConfig, RunningStats,
};
pub use batch_rows::{with_batch_rows, BatchRows};
pub use conv::{
    conv1d, conv2d, Conv, Conv1d, Conv1dConfig, Conv2d, Conv2dConfig, ConvConfig, StringPadding,
};
pub use dropout::{dropout, Dropout};
pub use embedding::{embedding, Embedding, EmbeddingConfig};
pub use layer_norm::{layer_norm, LayerNorm, LayerNormConfig};
pub use linear::{linear, Linear, LinearConfig};
pub use rnn::{gru, lstm, Gru, Lstm, RnnConfig, RnnWeights};
pub use rnn_flatten::{flatten_plan, views_of, Flatten};
pub use torchscript::TorchScriptModel;

use tch::Tensor;

use crate::error::Result;

/// What the training loop needs of a model. Parameters live in the experiment's `VarStore`.
pub trait Model {
    /// Forward pass; `train` selects training behaviour (dropout, batch-norm statistics).
    fn forward_t(&self, xs: &Tensor, train: bool) -> Result<Tensor>;

    /// Switches between training and evaluation mode where the model keeps such a mode itself
    /// (TorchScript modules ignore the flag of `forward_t`).
    fn set_train(&mut self, _train: bool) {}

    /// PyTorch's state_dict name of the VarStore variable `store_name`. Built-in models register
    /// their parameters under those names already; a TorchScript module's dots became `_`.
    fn parameter_name(&self, store_name: &str) -> String {
        store_name.to_string()
    }

    /// The TorchScript module behind this model, if it is one (saved as `model.pt` after a run).
    fn torchscript(&self) -> Option<&TorchScriptModel> {
        None
    }
}

/// A layer's fallible forward as tch's infallible `Module::forward`: an error (a wrong shape or
/// dtype) panics there, as in tch's own layers. The harness itself calls the layers' own
/// `forward`, which returns the error.
fn module_output(output: Result<Tensor>) -> Tensor {
    output.unwrap_or_else(|e| panic!("{e}"))
}
