//! One optimizer step and its seams: the optimizer, the accumulation window, and the pipeline of
//! [`StepHook`]s (see `hook`) around them. Gradients are cleared at the start of an accumulation
//! window and the optimizer steps at its end (every batch without `--accumulate`).
//!
//! Accumulation scales each batch's loss before its backward pass, by its count over the window's
//! count (see `plan`), rather than the gradients after it: the window's count is known before its
//! first batch, the scale is one multiply of a scalar instead of a pass over every gradient, and it
//! is the loop a PyTorch user writes (`(loss * scale).backward()`), which `scripts/reference.py`
//! runs as it is. A batch left out for a non-finite loss inside a window gives no gradient; when
//! the window ends, the others' gradients are rescaled by `window count / trained count`, so the
//! step is still the gradient of the mean over the elements trained on.
use tch::Tensor;

use super::accumulate::{LossShare, Window, WindowCheck};
use super::hook::{around, Decision, EpochDone, EpochStart, Grads, StepHook, StepMetrics, Update};
use super::plan::PlannedBatch;
use crate::distributed::GradSync;
use crate::error::{Error, Result};
use crate::interrupt::StopFlag;
use crate::optim::Optimizer;
use crate::trace::StepTrace;

/// The optimizer with what happens around its update.
pub struct Step {
    pub optimizer: Box<dyn Optimizer>,
    /// The learning rate of each parameter group at the last optimizer step (metrics.jsonl's
    /// `lr`, and `lrs` where groups differ).
    pub last_lrs: Vec<f64>,
    pub(super) params: Vec<(String, Tensor)>,
    /// In `Slot` order.
    pub(super) hooks: Vec<Box<dyn StepHook>>,
    pub(super) window: Window,
}

impl Step {
    /// `optimizer` over `params` (the same tensors, shallow clones), with the accumulation
    /// share and the window check.
    pub fn new(optimizer: Box<dyn Optimizer>, params: Vec<(String, Tensor)>) -> Step {
        Step {
            last_lrs: optimizer.lrs(),
            optimizer,
            params,
            hooks: vec![Box::new(LossShare), Box::new(WindowCheck)],
            window: Window::default(),
        }
    }

    /// Adds `hook` at its slot, after the hooks of that slot added before.
    pub fn with_hook(mut self, hook: Box<dyn StepHook>) -> Step {
        self.add_hook(hook);
        self
    }

    /// Adds a hook of a port's own (see [`Experiment::hooks`](crate::Experiment)): an error when
    /// its key is one another hook already has.
    pub fn with_own_hook(self, hook: Box<dyn StepHook>) -> Result<Step> {
        if let Some(key) = hook.key() {
            if self.hooks.iter().any(|h| h.key() == Some(key)) {
                return Err(Error::Config(format!(
                    "two step hooks have the checkpoint key '{key}': each needs its own"
                )));
            }
        }
        Ok(self.with_hook(hook))
    }

    pub(crate) fn add_hook(&mut self, hook: Box<dyn StepHook>) {
        let at = self.hooks.partition_point(|h| h.slot() <= hook.slot());
        self.hooks.insert(at, hook);
    }

    /// Sums each window's gradients over the ranks before the other gradient hooks.
    pub fn with_sync(self, sync: GradSync) -> Step {
        self.with_hook(Box::new(sync))
    }

    /// Traces every optimizer step (`--trace`).
    pub(crate) fn set_trace(&mut self, trace: StepTrace) {
        self.add_hook(Box::new(trace));
    }

    /// Whether this step is one rank's of a data-parallel run.
    pub fn is_distributed(&self) -> bool {
        self.hooks.iter().any(|h| h.agreed_stop().is_some())
    }

    /// Whether to stop now: this process was asked to, or, data-parallel, every rank agreed at
    /// the last window's end (ranks get their signals at different batches).
    pub fn stop_requested(&self, stop: &StopFlag) -> bool {
        let agreed = self.hooks.iter().find_map(|h| h.agreed_stop());
        agreed.unwrap_or_else(|| stop.requested())
    }

    /// An epoch begins (at batch `skipped` when resumed inside it).
    pub(crate) fn begin_epoch(&mut self, start: &EpochStart) -> Result<()> {
        self.hooks.iter_mut().try_for_each(|h| h.begin_epoch(start))
    }

    /// Clears the gradients before a batch's backward pass.
    pub fn zero_grad(&mut self) -> Result<()> {
        self.optimizer.zero_grad()
    }

    /// Before a batch: clears the gradients at the start of its accumulation window (before every
    /// batch without accumulation: the seed's `optimizer.zero_grad()`).
    pub fn begin_batch(&mut self, batch: &PlannedBatch) -> Result<()> {
        if batch.starts_window {
            self.window = Window::default();
            self.zero_grad()?;
        }
        self.hooks.iter_mut().try_for_each(|h| h.begin_batch(batch))
    }

    /// The forward pass and criterion (`forward`), inside the hooks that wrap them.
    pub fn forward(&mut self, forward: &mut dyn FnMut() -> Result<Tensor>) -> Result<Tensor> {
        around(&mut self.hooks, forward)
    }

    /// The batch's backward pass from its loss as the hooks scale it.
    pub fn backward(&mut self, loss: &Tensor, batch: &PlannedBatch) -> Result<()> {
        let mut loss = loss.shallow_clone();
        for hook in &mut self.hooks {
            loss = hook.scale_loss(loss, batch)?;
        }
        for hook in &mut self.hooks {
            hook.before_backward(batch, &self.window)?;
        }
        loss.f_backward()?;
        self.window.trained += 1;
        Ok(())
    }

    /// A batch left out of its window for a non-finite loss: no backward pass from it.
    pub fn skip(&mut self, batch: &PlannedBatch) {
        self.window.skipped += batch.count;
        self.window.nonfinite += 1;
    }

    /// After a batch: at the end of its window, the gradient hooks decide, the optimizer steps
    /// (or not), and the hooks after the update run either way.
    pub fn end_batch(&mut self, batch: &PlannedBatch) -> Result<()> {
        if !batch.ends_window {
            self.window.open = true;
            return Ok(());
        }
        let mut window = std::mem::take(&mut self.window);
        let mut grads = Grads {
            params: &self.params,
            batch,
            window: &mut window,
            update_skipped: false,
        };
        let mut decision = Decision::Step;
        for hook in &mut self.hooks {
            match hook.after_backward(&mut grads)? {
                Decision::Step => {}
                Decision::SkipUpdate => {
                    decision = Decision::SkipUpdate;
                    grads.update_skipped = true;
                }
                Decision::Skip => {
                    decision = Decision::Skip;
                    break;
                }
            }
        }
        let stepped = decision != Decision::Skip;
        if stepped {
            self.last_lrs = self.optimizer.lrs();
        }
        if decision == Decision::Step {
            self.optimizer.step()?;
        }
        let mut update = Update {
            optimizer: self.optimizer.as_mut(),
            params: &self.params,
            stepped,
        };
        self.hooks
            .iter_mut()
            .try_for_each(|h| h.after_update(&mut update))
    }

    /// At an epoch's end, with its losses: the hooks' per-epoch work and their metrics.
    pub fn end_epoch(&mut self, train_loss: f64, eval_loss: Option<f64>) -> Result<StepMetrics> {
        let mut metrics = StepMetrics::default();
        let mut done = EpochDone {
            optimizer: self.optimizer.as_mut(),
            train_loss,
            eval_loss,
            metrics: &mut metrics,
        };
        for hook in &mut self.hooks {
            hook.end_epoch(&mut done)?;
        }
        Ok(metrics)
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::*;
    use crate::optim::{optimizer, OptimizerConfig, SgdConfig};
    use crate::train::hook::Slot;
    use crate::train::plan::BatchPlan;

    /// Logs each phase it sees; says `Skip` after backward when `skip`.
    struct Probe(Slot, bool, Rc<RefCell<Vec<String>>>);

    impl StepHook for Probe {
        fn slot(&self) -> Slot {
            self.0
        }

        fn after_backward(&mut self, _: &mut Grads) -> Result<Decision> {
            self.2.borrow_mut().push(format!("backward {:?}", self.0));
            Ok(if self.1 {
                Decision::Skip
            } else {
                Decision::Step
            })
        }

        fn after_update(&mut self, u: &mut Update) -> Result<()> {
            self.2
                .borrow_mut()
                .push(format!("update {:?} {}", self.0, u.stepped));
            Ok(())
        }
    }

    #[test]
    fn hooks_run_in_slot_order_and_a_skip_stops_the_phase_not_the_update() {
        let w = Tensor::ones([2], (tch::Kind::Float, tch::Device::Cpu)).set_requires_grad(true);
        let params = || vec![("w".to_string(), w.shallow_clone())];
        let sgd = OptimizerConfig::Sgd(SgdConfig::default());
        let log = Rc::new(RefCell::new(Vec::new()));
        let probe = |slot, skip| Box::new(Probe(slot, skip, log.clone()));
        let mut step = Step::new(optimizer(&sgd, params()).unwrap(), params())
            .with_hook(probe(Slot::Schedule, false))
            .with_hook(probe(Slot::Clip, true))
            .with_hook(probe(Slot::Trace, false));
        let batch = BatchPlan::new(&[2.0], 1).get(0).unwrap();
        step.begin_batch(&batch).unwrap();
        step.backward(&w.sum(tch::Kind::Float), &batch).unwrap();
        step.end_batch(&batch).unwrap();
        let expected = [
            "backward Trace",
            "backward Clip", // Skip: the Schedule's after_backward does not run
            "update Trace false",
            "update Clip false",
            "update Schedule false",
        ];
        assert_eq!(*log.borrow(), expected);
        assert_eq!(Vec::<f32>::try_from(&w).unwrap(), [1.0, 1.0], "no update");
    }
}
