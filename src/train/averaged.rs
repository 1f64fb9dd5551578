//! `torch.optim.swa_utils.AveragedModel`, op for op: a copy of the model's state_dict whose
//! parameters (and buffers, with `use_buffers`) are averaged into it at each `update`, while the
//! other buffers follow the model's at each update. The EMA and SWA hooks (`ema.rs`, `swa.rs`)
//! each own one; `fit` evaluates it by swapping its tensors into the model and back.
//!
//! PyTorch's arithmetic (`swa_utils.py`, 2.11): the first update copies; later ones, for floating
//! point tensors, `torch._foreach_lerp_(averaged, model, w)` — on the CPU one `lerp_` per tensor
//! with the Scalar `w` — where EMA's `w = 1 - decay` (a Python float) and SWA's
//! `w = 1 / (n_averaged + 1)` computed on the int64 tensor `n_averaged`, so a float32 value;
//! integer buffers (batch norm's `num_batches_tracked`) under EMA get
//! `copy_(averaged * decay + model * (1 - decay))`.
use tch::{Kind, Tensor};

use super::Step;
use crate::error::{Error, Result};
use crate::tensor_io::NamedTensors;

/// How an update averages.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Rule {
    /// `get_ema_multi_avg_fn(decay)`.
    Ema(f64),
    /// `get_swa_multi_avg_fn()`: the equal-weight average.
    Swa,
}

/// Batch norm's buffers, as state_dict names end.
const BN_BUFFERS: [&str; 3] = ["running_mean", "running_var", "num_batches_tracked"];

/// One tensor of the model's state_dict and its averaged copy.
struct Entry {
    name: String,
    /// The model's own tensor (a shallow clone: the live weights).
    live: Tensor,
    averaged: Tensor,
    /// Averaged (a parameter, or a buffer with `use_buffers`); else copied at each update.
    averages: bool,
}

/// The averaged copy of a model and how many models it has averaged.
pub struct AveragedModel {
    /// `"ema"` or `"swa"`: its metrics' prefix, its file `model_<kind>.safetensors`.
    pub kind: &'static str,
    rule: Rule,
    entries: Vec<Entry>,
    pub n_averaged: i64,
}

impl AveragedModel {
    /// `AveragedModel(model, …)`: a deep copy of `state` (the state_dict), whose `trainable`
    /// parameters are averaged, and its buffers too when `use_buffers`.
    pub(crate) fn new(
        kind: &'static str,
        rule: Rule,
        state: NamedTensors,
        trainable: &[(String, Tensor)],
        use_buffers: bool,
    ) -> Result<AveragedModel> {
        let entries = tch::no_grad(|| {
            state
                .into_iter()
                .map(|(name, live)| {
                    let is_param = trainable.iter().any(|(n, _)| *n == name);
                    Ok(Entry {
                        averaged: live.detach().copy(),
                        averages: is_param || use_buffers,
                        name,
                        live,
                    })
                })
                .collect::<Result<Vec<_>>>()
        })?;
        Ok(AveragedModel {
            kind,
            rule,
            entries,
            n_averaged: 0,
        })
    }

    /// `update_parameters(model)`.
    pub fn update(&mut self) -> Result<()> {
        let n = self.n_averaged;
        tch::no_grad(|| {
            for e in self.entries.iter_mut() {
                match (e.averages, n) {
                    (false, _) | (true, 0) => {
                        e.averaged.f_copy_(&e.live)?;
                    }
                    (true, _) => average(&mut e.averaged, &e.live, self.rule, n)?,
                }
            }
            Ok::<_, Error>(())
        })?;
        self.n_averaged += 1;
        Ok(())
    }

    /// Runs `f` with the averaged tensors in the model, then puts the model's back (bitwise).
    pub fn swapped<T>(&mut self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let own = self.swap_in()?;
        let result = f();
        self.swap_back(&own)?;
        result
    }

    /// Copies the averaged tensors into the model; returns the model's own.
    fn swap_in(&mut self) -> Result<Vec<Tensor>> {
        tch::no_grad(|| {
            let mut own = Vec::with_capacity(self.entries.len());
            for e in self.entries.iter_mut() {
                own.push(e.live.detach().copy());
                e.live.f_copy_(&e.averaged)?;
            }
            Ok(own)
        })
    }

    fn swap_back(&mut self, own: &[Tensor]) -> Result<()> {
        tch::no_grad(|| {
            for (e, own) in self.entries.iter_mut().zip(own) {
                e.live.f_copy_(own)?;
            }
            Ok(())
        })
    }

    /// Whether batch norm's statistics are recomputed for it at the run's end (SWA's recipe).
    pub fn updates_bn(&self) -> bool {
        self.rule == Rule::Swa
    }

    /// `update_bn(loader, averaged_model)`: with the averaged tensors in the model, batch norm's
    /// running statistics reset (`reset_running_stats`) and recomputed by `pass` (forward passes
    /// in training mode) as a cumulative average (`momentum=None`), then kept in the average.
    /// Nothing happens to a model without batch norm.
    pub fn update_bn(&mut self, pass: impl FnOnce() -> Result<()>) -> Result<()> {
        let stat = |e: &Entry| {
            BN_BUFFERS
                .iter()
                .find(|b| e.name == **b || e.name.ends_with(&format!(".{b}")))
                .copied()
        };
        if !self.entries.iter().any(|e| stat(e).is_some()) {
            return Ok(());
        }
        let own = self.swap_in()?;
        let result = tch::no_grad(|| {
            for e in self.entries.iter_mut() {
                match stat(e) {
                    Some("running_var") => drop(e.live.f_fill_(1.0)?),
                    Some(_) => drop(e.live.f_zero_()?),
                    None => {}
                }
            }
            crate::model::cumulative_average(pass)?;
            for e in self.entries.iter_mut() {
                e.averaged.f_copy_(&e.live)?;
            }
            Ok(())
        });
        self.swap_back(&own)?;
        result
    }

    /// The averaged state_dict under the model's names (`AveragedModel.module.state_dict()`).
    pub fn state_dict(&self) -> NamedTensors {
        let tensors = self.entries.iter();
        tensors
            .map(|e| (e.name.clone(), e.averaged.shallow_clone()))
            .collect()
    }

    /// What a checkpoint keeps: `<kind>.<name>` and `<kind>.n_averaged`, as `AveragedModel`'s own
    /// state_dict (`module.<name>`, `n_averaged`).
    fn checkpoint_tensors(&self) -> NamedTensors {
        let mut tensors: NamedTensors = self
            .state_dict()
            .into_iter()
            .map(|(name, t)| (format!("{}.{name}", self.kind), t))
            .collect();
        let n = Tensor::scalar_tensor(self.n_averaged as f64, (Kind::Int64, tch::Device::Cpu));
        tensors.push((format!("{}.n_averaged", self.kind), n));
        tensors
    }

    /// Restores [`AveragedModel::checkpoint_tensors`]; every tensor must be there.
    fn load_checkpoint(&mut self, tensors: &NamedTensors) -> Result<()> {
        let find = |name: String| {
            tensors
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, t)| t)
                .ok_or_else(|| Error::Data(format!("checkpoint: no averaged tensor {name}")))
        };
        let n = find(format!("{}.n_averaged", self.kind))?;
        self.n_averaged = n.f_int64_value(&[])?;
        let kind = self.kind;
        tch::no_grad(|| {
            for e in self.entries.iter_mut() {
                let saved = find(format!("{kind}.{}", e.name))?;
                if saved.size() != e.averaged.size() || saved.kind() != e.averaged.kind() {
                    return Err(Error::Data(format!(
                        "checkpoint: averaged tensor {kind}.{} does not fit the model",
                        e.name
                    )));
                }
                e.averaged.f_copy_(saved)?;
            }
            Ok(())
        })
    }
}

/// One tensor's average after `n` (≥ 1) models, as `update_parameters` computes it.
fn average(averaged: &mut Tensor, live: &Tensor, rule: Rule, n: i64) -> Result<()> {
    let floating = averaged.is_floating_point();
    match rule {
        Rule::Ema(decay) if floating => {
            let _ = averaged.f_lerp_(live, 1.0 - decay)?;
        }
        Rule::Ema(decay) => {
            // `p_ema.copy_(p_ema * decay + p_model * (1 - decay))`: float32, truncated back.
            let mixed = averaged
                .f_mul_scalar(decay)?
                .f_add(&live.f_mul_scalar(1.0 - decay)?)?;
            averaged.f_copy_(&mixed)?;
        }
        Rule::Swa if !floating => {
            // PyTorch's integer path (`_foreach_addcdiv_`) refuses integer tensors too.
            return Err(Error::Config(
                "SWA averages floating-point tensors only".into(),
            ));
        }
        Rule::Swa if averaged.device().is_cuda() => {
            // `get_swa_multi_avg_fn`: `1 / (n_averaged + 1)` on the int64 tensor is a float32.
            let weight = 1.0f32 / (n as f32 + 1.0);
            let _ = averaged.f_lerp_(live, f64::from(weight))?;
        }
        Rule::Swa => {
            // Off the foreach devices, `get_swa_avg_fn`:
            // `averaged + (current - averaged) / (n_averaged + 1)`, divided by an int64 tensor.
            let count = Tensor::scalar_tensor((n + 1) as f64, (Kind::Int64, averaged.device()));
            let step = live.f_sub(averaged)?.f_div(&count)?;
            let next = averaged.f_add(&step)?;
            averaged.f_copy_(&next)?;
        }
    }
    Ok(())
}

impl Step {
    /// The averaged models of the hooks (`--ema`, `--swa`).
    pub(crate) fn averaged_models(&mut self) -> impl Iterator<Item = &mut AveragedModel> {
        self.hooks.iter_mut().filter_map(|h| h.averaged_mut())
    }

    /// Every averaged model's tensors and count, for a checkpoint.
    pub fn averaged_tensors(&self) -> NamedTensors {
        self.hooks
            .iter()
            .filter_map(|h| h.averaged())
            .flat_map(|m| m.checkpoint_tensors())
            .collect()
    }

    /// Every averaged model's state_dict, named by its kind (`ema`, `swa`), for its file.
    pub fn averaged_state_dicts(&self) -> Vec<(&'static str, NamedTensors, i64)> {
        self.hooks
            .iter()
            .filter_map(|h| h.averaged())
            .map(|m| (m.kind, m.state_dict(), m.n_averaged))
            .collect()
    }

    /// Restores [`Step::averaged_tensors`] from a checkpoint.
    pub fn load_averaged(&mut self, tensors: &NamedTensors) -> Result<()> {
        let mut expected = 0;
        for model in self.averaged_models() {
            model.load_checkpoint(tensors)?;
            expected += model.entries.len() + 1;
        }
        if tensors.len() != expected {
            return Err(Error::Data(format!(
                "checkpoint: {} averaged tensors where the run's --ema/--swa keep {expected}",
                tensors.len()
            )));
        }
        Ok(())
    }
}
