//! Optimizers written operation for operation as `torch.optim`'s single-tensor (`foreach=False`)
//! code in PyTorch 2.11, so that a step gives the same bits as Python. tch's own optimizers are
//! libtorch's C++ `torch::optim`, whose Adam differs in the last bits (mul/add instead of lerp)
//! and whose state cannot be saved.
mod adadelta;
mod adafactor;
mod adagrad;
mod adam;
mod adamax;
mod asgd;
mod checks;
mod config;
mod grad;
mod groups;
mod hyper;
mod muon;
mod nadam;
mod radam;
mod rmsprop;
mod rprop;
mod scaled;
mod sgd;
mod slot_macros;
mod slots;

pub use adadelta::{Adadelta, AdadeltaConfig};
pub use adafactor::{Adafactor, AdafactorConfig};
pub use adagrad::{Adagrad, AdagradConfig};
pub use adam::{Adam, AdamConfig};
pub use adamax::{Adamax, AdamaxConfig};
pub use asgd::{Asgd, AsgdConfig};
pub use config::{OptimizerConfig, OptimizerKind, FLOAT32_MAX};
pub use groups::{grouped, Grouped, ParamGroup};
pub use hyper::{Momentum, MomentumKind};
pub use muon::{Muon, MuonConfig};
pub use nadam::{NAdam, NAdamConfig};
pub use radam::{RAdam, RAdamConfig};
pub use rmsprop::{RMSprop, RMSpropConfig};
pub use rprop::{Rprop, RpropConfig};
pub use sgd::{Sgd, SgdConfig};

use tch::Tensor;

use crate::error::Result;
use crate::tensor_io::NamedTensors;

/// A stateful parameter update.
pub trait Optimizer {
    /// Drops every parameter's gradient (before a backward pass), as PyTorch's default
    /// `zero_grad(set_to_none=True)`: a parameter the next backward pass does not reach then has
    /// none, and [`Optimizer::step`] skips it.
    fn zero_grad(&mut self) -> Result<()>;

    /// Applies one update from the current gradients. Parameters without a gradient are skipped.
    fn step(&mut self) -> Result<()>;

    /// The learning rate the next step uses.
    fn lr(&self) -> f64;

    /// Sets the learning rate of the following steps (a scheduler's seam), without rebuilding.
    fn set_lr(&mut self, lr: f64) -> Result<()>;

    /// The rate of each parameter group (one for a plain optimizer).
    fn lrs(&self) -> Vec<f64> {
        vec![self.lr()]
    }

    /// Sets each parameter group's rate.
    fn set_lrs(&mut self, lrs: &[f64]) -> Result<()> {
        self.set_lr(lrs[0])
    }

    /// The momentum (or beta1) that `cycle_momentum=True` moves, `None` without either.
    fn momentum(&self) -> Option<Momentum> {
        None
    }

    /// Sets it for the following steps (an error without one: PyTorch refuses such optimizers).
    fn set_momentum(&mut self, _value: f64) -> Result<()> {
        Err(hyper::no_momentum())
    }

    /// Each parameter group's (one for a plain optimizer).
    fn momentums(&self) -> Vec<Option<Momentum>> {
        vec![self.momentum()]
    }

    /// Sets each parameter group's.
    fn set_momentums(&mut self, values: &[f64]) -> Result<()> {
        self.set_momentum(values[0])
    }

    /// The optimizer's state as named tensors, `<param>.<state>` (e.g. `fc1.weight.exp_avg`), in
    /// PyTorch's terms: what a checkpoint needs to continue bit for bit.
    fn state(&self) -> NamedTensors;

    /// Restores state saved by [`Optimizer::state`].
    fn load_state(&mut self, state: &NamedTensors) -> Result<()>;
}

/// Builds the optimizer of `config` over named parameters (as `VarStore::variables` gives them).
pub fn optimizer(
    config: &OptimizerConfig,
    params: Vec<(String, Tensor)>,
) -> Result<Box<dyn Optimizer>> {
    config.validate()?;
    let mut params = params;
    params.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(match config {
        OptimizerConfig::Sgd(c) => Box::new(Sgd::new(c, params)?),
        OptimizerConfig::Adam(c) => Box::new(Adam::new(c, false, params)?),
        OptimizerConfig::AdamW(c) => Box::new(Adam::new(c, true, params)?),
        OptimizerConfig::Adadelta(c) => Box::new(Adadelta::new(c, params)?),
        OptimizerConfig::Adafactor(c) => Box::new(Adafactor::new(c, params)?),
        OptimizerConfig::Adagrad(c) => Box::new(Adagrad::new(c, params)?),
        OptimizerConfig::Adamax(c) => Box::new(Adamax::new(c, params)?),
        OptimizerConfig::Asgd(c) => Box::new(Asgd::new(c, params)?),
        OptimizerConfig::Muon(c) => Box::new(Muon::new(c, params)?),
        OptimizerConfig::NAdam(c) => Box::new(NAdam::new(c, params)?),
        OptimizerConfig::RAdam(c) => Box::new(RAdam::new(c, params)?),
        OptimizerConfig::RMSprop(c) => Box::new(RMSprop::new(c, params)?),
        OptimizerConfig::Rprop(c) => Box::new(Rprop::new(c, params)?),
    })
}
