//! Learning-rate schedulers whose rates equal `torch.optim.lr_scheduler`'s (PyTorch 2.11) bit for
//! bit: the same Python-float operations in the same order, the recursive ("chainable") form
//! where PyTorch uses it, the constructor's initial step, and SequentialLR's quirks (children
//! built, undone and restarted with `step(0)`, which takes the closed form).
//!
//! Built from PyTorch's call spelling, `StepLR(step_size=30, gamma=0.1)`, for an optimizer whose
//! parameter groups have the rates `lrs`; each `step` updates them in place, as PyTorch updates
//! `param_group["lr"]`.
mod composite;
mod cosine;
mod cyclic;
mod decay;
mod momentum;
mod one_cycle;
mod plateau;
mod py;
mod state;
mod stepped;
mod warmup;

use crate::call_spec::{CallSpec, Value};
use crate::error::{Error, Result};

/// Builds the scheduler from its call spec for an optimizer whose parameter groups start at `lrs`
/// (PyTorch's `initial_lr` = these), performing PyTorch's constructor step on `lrs` in place
/// (and setting the groups' momentum, see [`LrScheduler::momentums`]).
/// As in PyTorch, a first CyclicLR sets the rates (so `initial_lr`) to its `base_lr` before, and
/// OneCycleLR overwrites `initial_lr` with `max_lr / div_factor`. On error `lrs` are left as they
/// were.
pub fn scheduler(spec: &CallSpec, lrs: &mut [f64]) -> Result<LrScheduler> {
    if lrs.is_empty() {
        return Err(Error::Config(format!(
            "{}: the optimizer has no parameter groups",
            spec.name
        )));
    }
    let before = lrs.to_vec();
    let mut b = Build {
        lrs,
        initial: None,
        one_cycles: 0,
        momenta: momentum::Momenta::default(),
    };
    match build(spec, &mut b) {
        Ok(root) => Ok(LrScheduler {
            groups: before.len(),
            root,
            momenta: b.momenta,
        }),
        Err(e) => {
            b.lrs.copy_from_slice(&before);
            Err(e)
        }
    }
}

/// [`scheduler`] from the text of a call spec.
pub fn parse_scheduler(text: &str, lrs: &mut [f64]) -> Result<LrScheduler> {
    scheduler(&CallSpec::parse(text)?, lrs)
}

/// The schedulers by PyTorch's class name.
const SCHEDULERS: &[(&str, Builder)] = &[
    ("StepLR", decay::step_lr),
    ("MultiStepLR", decay::multi_step_lr),
    ("ConstantLR", warmup::constant_lr),
    ("LinearLR", warmup::linear_lr),
    ("ExponentialLR", decay::exponential_lr),
    ("PolynomialLR", decay::polynomial_lr),
    ("CosineAnnealingLR", cosine::cosine_annealing_lr),
    ("CosineAnnealingWarmRestarts", cosine::warm_restarts),
    ("CyclicLR", cyclic::cyclic_lr),
    ("OneCycleLR", one_cycle::one_cycle_lr),
    ("ReduceLROnPlateau", plateau::reduce_on_plateau),
    ("SequentialLR", composite::sequential_lr),
    ("ChainedScheduler", composite::chained),
];

type Builder = fn(&CallSpec, &mut Build) -> Result<Box<dyn Node>>;

/// Builds one scheduler (a child of a composite too), as PyTorch's constructor does on the
/// optimizer's param groups in `b`.
fn build(spec: &CallSpec, b: &mut Build) -> Result<Box<dyn Node>> {
    let valid = || {
        SCHEDULERS
            .iter()
            .map(|(n, _)| *n)
            .collect::<Vec<_>>()
            .join(", ")
    };
    match SCHEDULERS.iter().find(|(n, _)| *n == spec.name) {
        Some((_, builder)) => builder(spec, b),
        None if matches!(spec.name.as_str(), "LambdaLR" | "MultiplicativeLR") => {
            Err(Error::Config(format!(
                "{} takes a Python function and is not supported (valid: {})",
                crate::error::quote(&spec.name),
                valid()
            )))
        }
        None => Err(Error::Config(format!(
            "unknown scheduler '{}' (valid: {})",
            crate::error::quote(&spec.name),
            valid()
        ))),
    }
}

/// The optimizer's param groups while schedulers are constructed on them.
pub(crate) struct Build<'a> {
    lrs: &'a mut [f64],
    /// The groups' `initial_lr`: set by the first scheduler (`setdefault`), overwritten by
    /// OneCycleLR, and the `base_lrs` of every scheduler built after.
    initial: Option<Vec<f64>>,
    /// OneCycleLRs built so far (PyTorch's share the groups' `initial_lr`/`max_lr`/`min_lr`).
    one_cycles: usize,
    /// The groups' momentum, set by the cycling schedulers of the tree.
    momenta: momentum::Momenta,
}

impl Build<'_> {
    /// `group.setdefault("initial_lr", group["lr"])` for every group: the `base_lrs`.
    fn initial_lrs(&mut self) -> Vec<f64> {
        self.initial
            .get_or_insert_with(|| self.lrs.to_vec())
            .clone()
    }

    fn groups(&self) -> usize {
        self.lrs.len()
    }
}

/// A scheduler inside the tree a spec builds, one per PyTorch class: what [`LrScheduler`] calls
/// on its root, plus what SequentialLR and ChainedScheduler call on their children.
pub(crate) trait Node: std::fmt::Debug {
    /// PyTorch's `step()`.
    fn step(&mut self, lrs: &mut [f64], metric: Option<f64>) -> Result<()>;
    /// `_initial_step()`: the constructor's step, which SequentialLR repeats on its first child.
    fn initial_step(&mut self, lrs: &mut [f64]) -> Result<()>;
    /// SequentialLR's `recursive_undo`: `last_epoch -= 1` (a composite's children's).
    fn undo(&mut self);
    /// `_update_lr(0)`, SequentialLR's milestone: `last_epoch = 0` and the closed form where
    /// PyTorch has one.
    fn restart(&mut self, lrs: &mut [f64]) -> Result<()>;
    /// PyTorch's class name.
    fn name(&self) -> &'static str;
    fn needs_metric(&self) -> bool {
        false
    }
    fn state(&self) -> serde_json::Value;
    fn load_state(&mut self, state: &serde_json::Value) -> Result<()>;
}

/// A learning-rate scheduler over an optimizer's parameter groups: the root of the tree a spec
/// builds, checking the group count on every call.
#[derive(Debug)]
pub struct LrScheduler {
    groups: usize,
    root: Box<dyn Node>,
    momenta: momentum::Momenta,
}

impl LrScheduler {
    /// PyTorch's `scheduler.step()` (with `metric` for ReduceLROnPlateau; others ignore it):
    /// updates `lrs` (one per parameter group, the optimizer's current rates) in place.
    pub fn step(&mut self, lrs: &mut [f64], metric: Option<f64>) -> Result<()> {
        if lrs.len() != self.groups {
            return Err(Error::Config(format!(
                "{}: built for {} parameter groups, stepped with {}",
                self.root.name(),
                self.groups,
                lrs.len()
            )));
        }
        self.root.step(lrs, metric)
    }

    /// Whether it needs a metric (ReduceLROnPlateau).
    pub fn needs_metric(&self) -> bool {
        self.root.needs_metric()
    }

    /// Each group's momentum (or beta1) as the schedulers with `cycle_momentum=True` last set
    /// it; `None` when none of them cycles it.
    pub fn momentums(&self) -> Option<Vec<f64>> {
        self.momenta.get()
    }

    /// Everything needed to continue bit for bit after a restart (last_epoch, T_cur, best,
    /// num_bad_epochs, children…, the cycled momentum), as JSON. The rates themselves are the
    /// optimizer's state.
    pub fn state(&self) -> serde_json::Value {
        let mut state = self.root.state();
        if let (Some(m), Some(obj)) = (self.momenta.get(), state.as_object_mut()) {
            obj.insert("momentums".into(), state::floats(&m));
        }
        state
    }

    /// Restores [`LrScheduler::state`] into a scheduler built anew from the same spec (whose
    /// constructor step changed `lrs`: restore the optimizer's rates afterwards, as PyTorch loads
    /// the optimizer's state dict after constructing the scheduler).
    pub fn load_state(&mut self, saved: &serde_json::Value) -> Result<()> {
        if self.momenta.get().is_some() {
            let momenta = saved
                .get("momentums")
                .and_then(|m| serde_json::from_value::<Vec<f64>>(m.clone()).ok())
                .filter(|m| m.len() == self.groups)
                .ok_or_else(|| Error::Config("scheduler state: no cycled momentums".into()))?;
            self.root.load_state(saved)?;
            self.momenta.set(momenta);
            return Ok(());
        }
        self.root.load_state(saved)
    }
}

/// Checks the keywords against `valid` (which lists `last_epoch` where PyTorch takes it) and
/// accepts only `last_epoch=-1`: resuming goes through `load_state`.
fn check_keywords(spec: &CallSpec, valid: &[&str]) -> Result<()> {
    spec.check_keywords(valid)?;
    match spec.get("last_epoch") {
        None | Some(Value::Int(-1)) => Ok(()),
        Some(v) => Err(spec.error(&format!(
            "last_epoch must be -1, got {v} (resume with load_state instead)"
        ))),
    }
}

/// A keyword PyTorch takes as a number or a list of one number per param group
/// (`_format_param`): one value per group.
fn per_group(spec: &CallSpec, key: &str, groups: usize) -> Result<Option<Vec<f64>>> {
    let values = spec.typed(key, "a float or a list of floats", |v| match v {
        Value::Tuple(_) | Value::List(_) => v.items_as(Value::as_f64),
        _ => v.as_f64().map(|x| vec![x; groups]),
    })?;
    match values {
        Some(v) if v.len() != groups => Err(spec.error(&format!(
            "{key} has {} values but the optimizer has {groups} parameter groups",
            v.len()
        ))),
        v => Ok(v),
    }
}

/// A string keyword that must be one of `choices`.
fn choice<'s>(
    spec: &'s CallSpec,
    key: &str,
    default: &'s str,
    choices: &[&str],
) -> Result<&'s str> {
    let v = spec.str(key)?.unwrap_or(default);
    if choices.contains(&v) {
        Ok(v)
    } else {
        Err(spec.error(&format!(
            "{key} '{v}' is unknown (valid: {})",
            choices.join(", ")
        )))
    }
}

/// Checks a `--scheduler` spelling before training: it must build (on the parameter groups'
/// rates `lrs`), and
/// a scheduler that steps on a metric cannot step per batch (there is no metric then).
pub fn check(text: &str, lrs: &[f64], per_batch: bool) -> Result<()> {
    let scheduler = parse_scheduler(text, &mut lrs.to_vec())?;
    if per_batch && scheduler.needs_metric() {
        return Err(Error::Config(format!(
            "--scheduler {text}: ReduceLROnPlateau steps on the epoch's loss; use \
             --scheduler-interval epoch"
        )));
    }
    Ok(())
}
