//! Optimizer hyper-parameters, with PyTorch's defaults.
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Which update rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// `torch.optim.SGD`.
    Sgd,
    /// `torch.optim.Adam`.
    Adam,
    /// `torch.optim.AdamW` (decoupled weight decay).
    AdamW,
}

impl OptimizerKind {
    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "sgd",
            OptimizerKind::Adam => "adam",
            OptimizerKind::AdamW => "adamw",
        }
    }
}

impl fmt::Display for OptimizerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for OptimizerKind {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "sgd" => Ok(OptimizerKind::Sgd),
            "adam" => Ok(OptimizerKind::Adam),
            "adamw" => Ok(OptimizerKind::AdamW),
            _ => Err(Error::Config(format!(
                "unknown optimizer '{s}' (expected sgd, adam or adamw)"
            ))),
        }
    }
}

/// Every hyper-parameter of the three optimizers; each uses its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimizerConfig {
    pub kind: OptimizerKind,
    pub lr: f64,
    /// SGD momentum (PyTorch default 0).
    pub momentum: f64,
    /// SGD dampening (default 0).
    pub dampening: f64,
    /// SGD Nesterov momentum (default false; needs momentum > 0 and dampening 0).
    pub nesterov: bool,
    /// L2 penalty (SGD, Adam) or decoupled decay (AdamW). PyTorch's defaults: 0, 0, 0.01.
    pub weight_decay: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    /// Adam/AdamW AMSGrad variant (default false).
    pub amsgrad: bool,
}

impl OptimizerConfig {
    /// PyTorch's defaults for `kind` at learning rate `lr`.
    pub fn new(kind: OptimizerKind, lr: f64) -> Self {
        OptimizerConfig {
            kind,
            lr,
            momentum: 0.0,
            dampening: 0.0,
            nesterov: false,
            weight_decay: Self::default_weight_decay(kind),
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            amsgrad: false,
        }
    }

    /// PyTorch's default weight decay: 0.01 for AdamW, 0 otherwise.
    pub fn default_weight_decay(kind: OptimizerKind) -> f64 {
        if kind == OptimizerKind::AdamW {
            0.01
        } else {
            0.0
        }
    }

    /// The checks `torch.optim` makes, as one-line errors.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str, v: f64| Error::Config(format!("invalid {what}: {v}"));
        if !self.lr.is_finite() || self.lr < 0.0 {
            return Err(bad("learning rate (must be finite and >= 0)", self.lr));
        }
        if !self.momentum.is_finite() || self.momentum < 0.0 {
            return Err(bad("momentum (must be finite and >= 0)", self.momentum));
        }
        if !self.dampening.is_finite() {
            return Err(bad("dampening", self.dampening));
        }
        if !self.weight_decay.is_finite() || self.weight_decay < 0.0 {
            return Err(bad(
                "weight decay (must be finite and >= 0)",
                self.weight_decay,
            ));
        }
        if !(0.0..1.0).contains(&self.beta1) {
            return Err(bad("beta1 (must be in [0, 1))", self.beta1));
        }
        if !(0.0..1.0).contains(&self.beta2) {
            return Err(bad("beta2 (must be in [0, 1))", self.beta2));
        }
        if !self.eps.is_finite() || self.eps < 0.0 {
            return Err(bad("eps (must be finite and >= 0)", self.eps));
        }
        if self.nesterov && (self.momentum <= 0.0 || self.dampening != 0.0) {
            return Err(Error::Config(
                "Nesterov momentum requires a momentum and zero dampening".into(),
            ));
        }
        Ok(())
    }
}
