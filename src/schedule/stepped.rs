//! PyTorch's `LRScheduler` machinery, shared by every scheduler but ReduceLROnPlateau and the
//! composites: `last_epoch`, `_step_count`, `base_lrs`, the constructor's initial step (with
//! `_is_initial` set), `step()` as `last_epoch += 1` then `get_lr()` (with its momentum side
//! effect), and `_update_lr(0)`.
use std::fmt::Debug;

use serde_json::{Map, Value as Json};

use super::py::PyResult;
use super::state::{self, Saved};
use super::{Build, Node};
use crate::error::{Error, Result};

/// The base state `get_lr` reads.
#[derive(Debug, Clone)]
pub(super) struct Ctx {
    pub last_epoch: i64,
    pub step_count: i64,
    pub base_lrs: Vec<f64>,
    /// True during the initial step only (PyTorch's `_initial_mode`).
    pub is_initial: bool,
}

/// One scheduler's `get_lr` (and what else it overrides), per param group.
pub(super) trait Formula: Debug {
    const NAME: &'static str;

    /// `get_lr()` for group `i`, whose current rate is `lr`.
    fn lr(&self, c: &Ctx, i: usize, lr: f64) -> PyResult<f64>;

    /// `_get_closed_form_lr()` for group `i`, where PyTorch has one: SequentialLR's milestones
    /// (`_update_lr(0)`) use it, plain steps never do.
    fn closed_form(&self, _c: &Ctx, _i: usize) -> PyResult<Option<f64>> {
        Ok(None)
    }

    /// `get_lr()`'s side effect with `cycle_momentum=True`: every group's momentum, set after
    /// the rates were computed.
    fn cycle(&self, _c: &Ctx) -> PyResult<()> {
        Ok(())
    }

    /// What `step()` does before `get_lr`; CosineAnnealingWarmRestarts overrides it.
    fn advance(&mut self, c: &mut Ctx) -> PyResult<()> {
        c.step_count += 1;
        c.last_epoch += 1;
        Ok(())
    }

    /// State beyond the base's.
    fn save(&self, _state: &mut Map<String, Json>) {}

    fn load(&mut self, _saved: &Saved) -> Result<()> {
        Ok(())
    }
}

/// A scheduler stepped by `LRScheduler.step`.
#[derive(Debug)]
pub(super) struct Stepped<F> {
    pub formula: F,
    pub ctx: Ctx,
}

impl<F: Formula + 'static> Stepped<F> {
    /// `LRScheduler.__init__(optimizer, last_epoch=-1)`: `base_lrs` are the groups'
    /// `initial_lr`, then the initial step changes `b.lrs`.
    pub fn new(formula: F, b: &mut Build) -> Result<Self> {
        let mut s = Stepped {
            formula,
            ctx: Ctx {
                last_epoch: -1,
                step_count: 0,
                base_lrs: b.initial_lrs(),
                is_initial: false,
            },
        };
        s.initial_step(b.lrs)?;
        Ok(s)
    }

    pub fn boxed(formula: F, b: &mut Build) -> Result<Box<dyn Node>> {
        Ok(Box::new(Self::new(formula, b)?))
    }

    fn error(&self, e: String) -> Error {
        Error::Config(format!(
            "{} at last_epoch {}: {e} (as in PyTorch)",
            F::NAME,
            self.ctx.last_epoch
        ))
    }

    /// Computes every group's rate, then sets them (nothing changes on an error, as in Python).
    fn apply(
        &self,
        lrs: &mut [f64],
        f: impl Fn(&F, &Ctx, usize, f64) -> PyResult<f64>,
    ) -> Result<()> {
        let new = (0..lrs.len())
            .map(|i| f(&self.formula, &self.ctx, i, lrs[i]))
            .collect::<PyResult<Vec<f64>>>()
            .map_err(|e| self.error(e))?;
        self.formula.cycle(&self.ctx).map_err(|e| self.error(e))?;
        lrs.copy_from_slice(&new);
        Ok(())
    }
}

impl<F: Formula + 'static> Node for Stepped<F> {
    fn step(&mut self, lrs: &mut [f64], _metric: Option<f64>) -> Result<()> {
        if let Err(e) = self.formula.advance(&mut self.ctx) {
            return Err(self.error(e));
        }
        self.apply(lrs, F::lr)
    }

    fn initial_step(&mut self, lrs: &mut [f64]) -> Result<()> {
        self.ctx.step_count = 0;
        self.ctx.is_initial = true;
        let r = self.step(lrs, None);
        self.ctx.is_initial = false;
        r
    }

    fn undo(&mut self) {
        self.ctx.last_epoch -= 1;
    }

    fn restart(&mut self, lrs: &mut [f64]) -> Result<()> {
        self.ctx.last_epoch = 0;
        self.apply(lrs, |f, c, i, lr| match f.closed_form(c, i)? {
            Some(closed) => Ok(closed),
            None => f.lr(c, i, lr),
        })
    }

    fn name(&self) -> &'static str {
        F::NAME
    }

    fn state(&self) -> Json {
        let mut m = state::object(F::NAME);
        m.insert("last_epoch".into(), self.ctx.last_epoch.into());
        m.insert("step_count".into(), self.ctx.step_count.into());
        m.insert("base_lrs".into(), state::floats(&self.ctx.base_lrs));
        self.formula.save(&mut m);
        Json::Object(m)
    }

    fn load_state(&mut self, state: &Json) -> Result<()> {
        let saved = Saved::of(state, F::NAME)?;
        let base_lrs = saved.floats("base_lrs", self.ctx.base_lrs.len())?;
        let (last_epoch, step_count) = (saved.int("last_epoch")?, saved.int("step_count")?);
        self.formula.load(&saved)?;
        self.ctx.base_lrs = base_lrs;
        self.ctx.last_epoch = last_epoch;
        self.ctx.step_count = step_count;
        Ok(())
    }
}
