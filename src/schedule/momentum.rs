//! `cycle_momentum=True` (PyTorch's default for OneCycleLR and CyclicLR): the scheduler also sets
//! each group's momentum (or beta1), inversely to the rate, between `base_momentum` and
//! `max_momentum`. PyTorch writes it into the param groups from inside `get_lr`, so the value the
//! optimizer holds is the last one any cycling scheduler of the tree computed; here that value is
//! one cell shared by the tree, which the optimizer's side copies after each step.
use std::cell::RefCell;
use std::rc::Rc;

use super::{per_group, Build};
use crate::call_spec::{CallSpec, Value};
use crate::error::Result;

/// The groups' momentum as the cycling schedulers of one tree last set it (`None`: no scheduler
/// of the tree cycles it).
#[derive(Debug, Clone, Default)]
pub(super) struct Momenta(Rc<RefCell<Option<Vec<f64>>>>);

impl Momenta {
    pub fn get(&self) -> Option<Vec<f64>> {
        self.0.borrow().clone()
    }

    pub fn set(&self, values: Vec<f64>) {
        *self.0.borrow_mut() = Some(values);
    }
}

/// A cycling scheduler's bounds, one per group, and the tree's cell it writes to.
#[derive(Debug)]
pub(super) struct Cycle {
    pub base: Vec<f64>,
    pub max: Vec<f64>,
    momenta: Momenta,
}

impl Cycle {
    /// Sets every group's momentum (PyTorch's `group["momentum"] = …` inside `get_lr`).
    pub fn set(&self, values: Vec<f64>) {
        self.momenta.set(values);
    }
}

/// Reads `cycle_momentum` (default true), `base_momentum` and `max_momentum` (defaults: PyTorch's
/// for the scheduler); when cycling, sets the groups' momentum to `max_momentum`, as PyTorch's
/// constructor does before its initial step.
pub(super) fn cycle_momentum(
    spec: &CallSpec,
    b: &mut Build,
    (base, max): (f64, f64),
) -> Result<Option<Cycle>> {
    if !spec.bool("cycle_momentum")?.unwrap_or(true) {
        // Unused without cycling (as in PyTorch), but still numbers.
        for key in ["base_momentum", "max_momentum"] {
            spec.typed(key, "a float or a list of floats", |v| {
                v.as_f64()
                    .map(|_| ())
                    .or(v.items_as(Value::as_f64).map(|_| ()))
            })?;
        }
        return Ok(None);
    }
    let groups = b.groups();
    let bound = |key: &str, default: f64| -> Result<Vec<f64>> {
        Ok(per_group(spec, key, groups)?.unwrap_or_else(|| vec![default; groups]))
    };
    let cycle = Cycle {
        base: bound("base_momentum", base)?,
        max: bound("max_momentum", max)?,
        momenta: b.momenta.clone(),
    };
    cycle.set(cycle.max.clone());
    Ok(Some(cycle))
}
