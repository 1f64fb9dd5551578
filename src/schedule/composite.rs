//! SequentialLR and ChainedScheduler over child schedulers built on the same param groups, in
//! the order Python evaluates the spelling (children first, each taking its constructor step).
use serde_json::Value as Json;

use super::py;
use super::state::{self, Saved};
use super::{build, check_keywords, Build, Node};
use crate::call_spec::CallSpec;
use crate::error::{Error, Result};

/// A composite's children.
#[derive(Debug)]
struct Children(Vec<Box<dyn Node>>);

impl Children {
    /// Builds the `schedulers` keyword's calls in order; refuses ReduceLROnPlateau, as PyTorch
    /// does (its step needs a metric).
    fn build(spec: &CallSpec, b: &mut Build) -> Result<Self> {
        let specs = spec.required("schedulers", CallSpec::calls)?;
        if specs.is_empty() {
            return Err(spec.error("expects at least one scheduler in schedulers"));
        }
        let children = specs
            .into_iter()
            .map(|s| build(s, b))
            .collect::<Result<Vec<_>>>()?;
        if let Some(k) = children.iter().position(|c| c.needs_metric()) {
            return Err(spec.error(&format!(
                "does not support ReduceLROnPlateau (schedulers[{k}]): its step needs a metric"
            )));
        }
        Ok(Children(children))
    }

    fn undo(&mut self) {
        self.0.iter_mut().for_each(|c| c.undo());
    }

    fn save(&self, state: &mut serde_json::Map<String, Json>) {
        let children = self.0.iter().map(|c| c.state()).collect();
        state.insert("schedulers".into(), Json::Array(children));
    }

    fn load(&mut self, saved: &Saved) -> Result<()> {
        let states = saved.list("schedulers", self.0.len())?;
        self.0
            .iter_mut()
            .zip(states)
            .try_for_each(|(c, s)| c.load_state(s))
    }
}

/// Composites have no `get_lr`: PyTorch's `_update_lr(0)` raises NotImplementedError on them.
fn no_restart(name: &str) -> Error {
    Error::Config(format!(
        "{name} cannot follow a milestone of SequentialLR (PyTorch raises NotImplementedError)"
    ))
}

const SEQUENTIAL: &str = "SequentialLR";
const CHAINED: &str = "ChainedScheduler";

/// `SequentialLR(schedulers, milestones)`: `schedulers[k]` from `milestones[k - 1]` on.
#[derive(Debug)]
struct Sequential {
    children: Children,
    milestones: Vec<i64>,
    last_epoch: i64,
}

impl Node for Sequential {
    /// At a milestone the next child restarts with `step(0)`, i.e. its closed form at 0 (a
    /// CosineAnnealingLR's `eta_min + (base_lr - eta_min) * 2 / 2`, not always `base_lr`'s bits).
    fn step(&mut self, lrs: &mut [f64], _metric: Option<f64>) -> Result<()> {
        self.last_epoch += 1;
        let idx = py::bisect_right(&self.milestones, self.last_epoch);
        let child = &mut self.children.0[idx];
        if idx > 0 && self.milestones[idx - 1] == self.last_epoch {
            child.restart(lrs)
        } else {
            child.step(lrs, None)
        }
    }

    fn initial_step(&mut self, lrs: &mut [f64]) -> Result<()> {
        self.step(lrs, None)
    }

    /// `recursive_undo` passes over the composite to its children.
    fn undo(&mut self) {
        self.children.undo();
    }

    fn restart(&mut self, _lrs: &mut [f64]) -> Result<()> {
        Err(no_restart(SEQUENTIAL))
    }

    fn name(&self) -> &'static str {
        SEQUENTIAL
    }

    fn state(&self) -> Json {
        let mut m = state::object(SEQUENTIAL);
        m.insert("last_epoch".into(), self.last_epoch.into());
        self.children.save(&mut m);
        Json::Object(m)
    }

    fn load_state(&mut self, state: &Json) -> Result<()> {
        let saved = Saved::of(state, SEQUENTIAL)?;
        let last_epoch = saved.int("last_epoch")?;
        self.children.load(&saved)?;
        self.last_epoch = last_epoch;
        Ok(())
    }
}

/// The constructor: after the children's own constructor steps, the rates go back to
/// `initial_lr`, every child's `last_epoch` is decremented, and the first child takes its
/// initial step again.
pub(super) fn sequential_lr(spec: &CallSpec, b: &mut Build) -> Result<Box<dyn Node>> {
    check_keywords(spec, &["schedulers", "milestones", "last_epoch"])?;
    let milestones: Vec<i64> = spec
        .required("milestones", CallSpec::usize_list)?
        .into_iter()
        .map(|m| m as i64)
        .collect();
    let mut children = Children::build(spec, b)?;
    if milestones.len() + 1 != children.0.len() {
        return Err(spec.error(&format!(
            "expects one milestone fewer than schedulers, got {} schedulers and {} milestones",
            children.0.len(),
            milestones.len()
        )));
    }
    if let Some(k) =
        (1..children.0.len()).find(|k| matches!(children.0[*k].name(), SEQUENTIAL | CHAINED))
    {
        return Err(spec.error(&format!(
            "schedulers[{k}] is a {}, which PyTorch cannot restart at a milestone \
             (NotImplementedError); only the first scheduler may be a composite",
            children.0[k].name()
        )));
    }
    let initial = b.initial_lrs();
    b.lrs.copy_from_slice(&initial);
    children.undo();
    children.0[0].initial_step(b.lrs)?;
    Ok(Box::new(Sequential {
        children,
        milestones,
        last_epoch: 0,
    }))
}

/// `ChainedScheduler(schedulers)`: every child steps, in order, on the rates the previous left.
/// It takes no step of its own when built.
#[derive(Debug)]
struct Chained {
    children: Children,
}

impl Node for Chained {
    fn step(&mut self, lrs: &mut [f64], _metric: Option<f64>) -> Result<()> {
        self.children
            .0
            .iter_mut()
            .try_for_each(|c| c.step(lrs, None))
    }

    /// `_initial_step` is plain `step()` here: the children are not in initial mode.
    fn initial_step(&mut self, lrs: &mut [f64]) -> Result<()> {
        self.step(lrs, None)
    }

    fn undo(&mut self) {
        self.children.undo();
    }

    fn restart(&mut self, _lrs: &mut [f64]) -> Result<()> {
        Err(no_restart(CHAINED))
    }

    fn name(&self) -> &'static str {
        CHAINED
    }

    fn state(&self) -> Json {
        let mut m = state::object(CHAINED);
        self.children.save(&mut m);
        Json::Object(m)
    }

    fn load_state(&mut self, state: &Json) -> Result<()> {
        self.children.load(&Saved::of(state, CHAINED)?)
    }
}

/// The optimizer keyword of PyTorch's signature is implied, like everywhere else.
pub(super) fn chained(spec: &CallSpec, b: &mut Build) -> Result<Box<dyn Node>> {
    spec.check_keywords(&["schedulers"])?;
    Ok(Box::new(Chained {
        children: Children::build(spec, b)?,
    }))
}
