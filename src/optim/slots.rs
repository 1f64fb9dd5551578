//! What the single-tensor optimizers share: the named parameters with their lazily made
//! per-parameter state (Python's `optimizer.state[p]`), the loop of `_single_tensor_*` over the
//! parameters that have a gradient, and the saving and loading of that state under PyTorch's keys.
use tch::{Device, Kind, Tensor};

use super::scaled::add_alpha;
use super::zero_grads;
use crate::error::{Error, Result};
use crate::tensor_io::NamedTensors;

/// One parameter's optimizer state, as `optimizer.state[p]` holds it in Python.
pub(super) trait SlotState: Sized {
    /// The optimizer's options, which say which entries there are.
    type Config;

    /// `(key, tensor)` for every entry of `optimizer.state[p]`.
    fn named(&self) -> Vec<(&'static str, Tensor)>;

    /// The state saved for one parameter, or `None` when nothing was saved for it.
    fn load(saved: &Saved<'_>, config: &Self::Config) -> Result<Option<Self>>;
}

/// Named parameters (sorted by name) and their states.
pub(super) struct Slots<S> {
    params: Vec<(String, Tensor)>,
    states: Vec<Option<S>>,
}

impl<S: SlotState> Slots<S> {
    /// Parameters without state yet (made at their first step).
    pub(super) fn new(params: Vec<(String, Tensor)>) -> Self {
        let states = params.iter().map(|_| None).collect();
        Slots { params, states }
    }

    /// Parameters whose state is made at once (Adagrad makes it in its constructor).
    pub(super) fn with_state(
        params: Vec<(String, Tensor)>,
        init: impl Fn(&Tensor) -> Result<S>,
    ) -> Result<Self> {
        let states = params
            .iter()
            .map(|(_, p)| init(p).map(Some))
            .collect::<Result<_>>()?;
        Ok(Slots { params, states })
    }

    pub(super) fn zero_grad(&self) -> Result<()> {
        zero_grads(&self.params)
    }

    /// One `_single_tensor_*` pass: for each parameter with a gradient, in order, makes its state
    /// with `fresh(param, grad)` if it has none, then calls `update(param, grad, state)` with
    /// `grad` negated when `maximize` (`grad = grad if not maximize else -grad`).
    pub(super) fn step(
        &mut self,
        maximize: bool,
        fresh: impl Fn(&Tensor, &Tensor) -> Result<S>,
        mut update: impl FnMut(&mut Tensor, Tensor, &mut S) -> Result<()>,
    ) -> Result<()> {
        tch::no_grad(|| {
            for ((_, param), state) in self.params.iter_mut().zip(&mut self.states) {
                let grad = param.grad();
                if !grad.defined() {
                    continue;
                }
                let state = match state {
                    Some(state) => state,
                    slot @ None => slot.insert(fresh(param, &grad)?),
                };
                let grad = if maximize { grad.f_neg()? } else { grad };
                update(param, grad, state)?;
            }
            Ok(())
        })
    }

    /// The states as `<param>.<key>` tensors.
    pub(super) fn state(&self) -> NamedTensors {
        let mut named = Vec::new();
        for ((name, _), state) in self.params.iter().zip(&self.states) {
            for (key, t) in state.iter().flat_map(S::named) {
                named.push((format!("{name}.{key}"), t));
            }
        }
        named
    }

    /// Replaces every state with the one saved in `state` (or none, where nothing was saved).
    pub(super) fn load_state(&mut self, state: &NamedTensors, config: &S::Config) -> Result<()> {
        let loaded = self
            .params
            .iter()
            .map(|(name, param)| S::load(&Saved { state, name, param }, config))
            .collect::<Result<Vec<_>>>()?;
        self.states = loaded;
        Ok(())
    }
}

/// The saved state of one parameter: `<name>.<key>` entries of a `NamedTensors`.
pub(super) struct Saved<'a> {
    state: &'a NamedTensors,
    name: &'a str,
    param: &'a Tensor,
}

impl Saved<'_> {
    /// The parameter the state belongs to.
    pub(super) fn param(&self) -> &Tensor {
        self.param
    }

    /// Whether `<name>.<key>` was saved.
    pub(super) fn has(&self, key: &str) -> bool {
        let full = format!("{}.{key}", self.name);
        self.state.iter().any(|(n, _)| *n == full)
    }

    /// `<name>.<key>`, which must be there with `like`'s shape; a copy of `like`'s dtype and
    /// device (never an alias of the caller's tensor).
    pub(super) fn tensor_like(&self, key: &str, like: &Tensor) -> Result<Tensor> {
        let full = format!("{}.{key}", self.name);
        let Some((_, t)) = self.state.iter().find(|(n, _)| *n == full) else {
            return Err(Error::Data(format!("optimizer state '{full}' is missing")));
        };
        if t.size() != like.size() {
            return Err(Error::Data(format!(
                "optimizer state '{full}' has shape {:?}, expected {:?}",
                t.size(),
                like.size()
            )));
        }
        Ok(t.f_to_device(like.device())?
            .f_to_kind(like.kind())?
            .f_detach_copy()?)
    }

    /// `<name>.<key>`, shaped like the parameter.
    pub(super) fn tensor(&self, key: &str) -> Result<Tensor> {
        self.tensor_like(key, self.param)
    }

    /// A 0-dimensional float32 entry (`step`, ASGD's `eta` and `mu`, NAdam's `mu_product`).
    pub(super) fn scalar(&self, key: &str) -> Result<f32> {
        let t = self.tensor_like(key, &scalar_f32(0.0))?;
        Ok(t.f_double_value(&[])? as f32)
    }
}

/// A 0-dimensional float32 CPU tensor, as PyTorch keeps `state["step"]` (`_get_scalar_dtype()`).
pub(super) fn scalar_f32(value: f32) -> Tensor {
    Tensor::from(value)
        .to_device(Device::Cpu)
        .to_kind(Kind::Float)
}

/// `step_t += 1` on the float32 step tensor; returns `_get_value(step_t)`, the Python float.
pub(super) fn count_step(step: &mut f32) -> f64 {
    *step += 1.0;
    f64::from(*step)
}

/// `grad.add(param, alpha=weight_decay)` when `weight_decay != 0` (L2 penalty), else `grad`.
pub(super) fn l2_penalty(grad: Tensor, param: &Tensor, weight_decay: f64) -> Result<Tensor> {
    if weight_decay != 0.0 {
        add_alpha(&grad, param, weight_decay)
    } else {
        Ok(grad)
    }
}

/// `param.mul_(1 - lr * weight_decay)` (decoupled, "stepweight" decay).
pub(super) fn decay_(param: &mut Tensor, lr: f64, weight_decay: f64) -> Result<()> {
    let _ = param.f_mul_scalar_(1.0 - lr * weight_decay)?;
    Ok(())
}

/// Python's `min(a, b)`: `a` unless `b < a`.
pub(super) fn py_min(a: f64, b: f64) -> f64 {
    if b < a {
        b
    } else {
        a
    }
}

/// Python's `max(a, b)`: `a` unless `b > a`.
pub(super) fn py_max(a: f64, b: f64) -> f64 {
    if b > a {
        b
    } else {
        a
    }
}

/// `impl Optimizer` for a struct with fields `config` (having `lr` and `validate()`) and
/// `slots: Slots<_>`, and an inherent `fn update(&mut self) -> Result<()>` doing one step.
/// `set_lr` changes what `param_groups[0]["lr"]` holds in Python: the next step reads it.
macro_rules! slot_optimizer {
    ($name:ident) => {
        impl $crate::optim::Optimizer for $name {
            fn zero_grad(&mut self) -> $crate::error::Result<()> {
                self.slots.zero_grad()
            }

            fn step(&mut self) -> $crate::error::Result<()> {
                self.update()
            }

            fn lr(&self) -> f64 {
                self.config.lr
            }

            fn set_lr(&mut self, lr: f64) -> $crate::error::Result<()> {
                let mut config = self.config.clone();
                config.lr = lr;
                config.validate()?;
                self.config = config;
                Ok(())
            }

            fn momentum(&self) -> Option<$crate::optim::Momentum> {
                $crate::optim::hyper::CycledMomentum::momentum(&self.config)
            }

            fn set_momentum(&mut self, value: f64) -> $crate::error::Result<()> {
                $crate::optim::hyper::CycledMomentum::set_momentum(&mut self.config, value)
            }

            fn state(&self) -> $crate::tensor_io::NamedTensors {
                self.slots.state()
            }

            fn load_state(
                &mut self,
                state: &$crate::tensor_io::NamedTensors,
            ) -> $crate::error::Result<()> {
                self.slots.load_state(state, &self.config)
            }
        }
    };
}
pub(super) use slot_optimizer;
