//! The hyper-parameter a scheduler moves besides the rate: OneCycleLR and CyclicLR with
//! `cycle_momentum=True` set each group's `momentum`, or `betas[0]` when the optimizer has `betas`
//! in its defaults (PyTorch's `use_beta1`). Optimizers with neither refuse, as PyTorch's
//! constructor does.
use super::{
    AdadeltaConfig, AdafactorConfig, AdagradConfig, AdamConfig, AdamaxConfig, AsgdConfig,
    MuonConfig, NAdamConfig, RAdamConfig, RMSpropConfig, RpropConfig, SgdConfig,
};
use crate::error::{Error, Result};

/// Which of a group's settings `cycle_momentum` moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MomentumKind {
    /// `group["momentum"]` (SGD, RMSprop, Muon).
    Momentum,
    /// `group["betas"][0]` (the Adam family).
    Beta1,
}

/// A group's cycled setting and its value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Momentum {
    pub kind: MomentumKind,
    pub value: f64,
}

/// PyTorch's refusal, as one line.
pub(crate) fn no_momentum() -> Error {
    Error::Config(
        "cycle_momentum=True needs an optimizer with momentum or betas (PyTorch: \"optimizer \
         must support momentum or beta1\"): pass cycle_momentum=False"
            .into(),
    )
}

/// The options of an optimizer, seen for the momentum they may hold.
pub(super) trait CycledMomentum {
    fn momentum(&self) -> Option<Momentum> {
        None
    }

    fn set_momentum(&mut self, _value: f64) -> Result<()> {
        Err(no_momentum())
    }
}

/// `impl CycledMomentum` for options whose field `$kind` names is the cycled one.
macro_rules! cycles {
    (momentum: $($config:ty),+) => {$(
        impl CycledMomentum for $config {
            fn momentum(&self) -> Option<Momentum> {
                let (kind, value) = (MomentumKind::Momentum, self.momentum);
                Some(Momentum { kind, value })
            }

            fn set_momentum(&mut self, value: f64) -> Result<()> {
                self.momentum = value;
                Ok(())
            }
        }
    )+};
    (beta1: $($config:ty),+) => {$(
        impl CycledMomentum for $config {
            fn momentum(&self) -> Option<Momentum> {
                let (kind, value) = (MomentumKind::Beta1, self.betas.0);
                Some(Momentum { kind, value })
            }

            fn set_momentum(&mut self, value: f64) -> Result<()> {
                self.betas.0 = value;
                Ok(())
            }
        }
    )+};
}

cycles!(momentum: SgdConfig, RMSpropConfig, MuonConfig);
cycles!(beta1: AdamConfig, AdamaxConfig, NAdamConfig, RAdamConfig);

impl CycledMomentum for AdadeltaConfig {}
impl CycledMomentum for AdafactorConfig {}
impl CycledMomentum for AdagradConfig {}
impl CycledMomentum for AsgdConfig {}
impl CycledMomentum for RpropConfig {}
