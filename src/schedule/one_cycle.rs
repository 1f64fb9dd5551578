//! OneCycleLR: a closed form in `last_epoch` (not chainable), annealing between the groups'
//! `initial_lr` (= max_lr / div_factor), `max_lr` and `min_lr` (= initial_lr / final_div_factor)
//! in two or three phases.
use std::f64::consts::PI;

use super::momentum::{cycle_momentum, Cycle};
use super::py::{self, PyResult};
use super::stepped::{Ctx, Formula, Stepped};
use super::{check_keywords, choice, per_group, Build, Node};
use crate::call_spec::{CallSpec, Value};
use crate::error::Result;

/// Which of the group's rates a phase starts or ends at.
#[derive(Debug, Clone, Copy)]
enum Rate {
    Initial,
    Max,
    Min,
}

/// Which momentum bound a phase starts or ends at (with `cycle_momentum`).
#[derive(Debug, Clone, Copy)]
enum Bound {
    Base,
    Max,
}

#[derive(Debug)]
struct Phase {
    /// Float, except the last phase's `total_steps - 1` (the same value).
    end_step: f64,
    start: Rate,
    end: Rate,
    /// The momentum's (`start_momentum`, `end_momentum`).
    momentum: (Bound, Bound),
}

#[derive(Debug)]
struct OneCycle {
    total_steps: i64,
    phases: Vec<Phase>,
    linear: bool,
    initial_lrs: Vec<f64>,
    max_lrs: Vec<f64>,
    min_lrs: Vec<f64>,
    cycle: Option<Cycle>,
}

impl OneCycle {
    fn rate(&self, r: Rate, i: usize) -> f64 {
        match r {
            Rate::Initial => self.initial_lrs[i],
            Rate::Max => self.max_lrs[i],
            Rate::Min => self.min_lrs[i],
        }
    }

    /// The phase of step `step` and how far into it (`pct`), or PyTorch's error past the end.
    fn phase(&self, step: i64) -> PyResult<(&Phase, f64)> {
        if step > self.total_steps {
            return Err(format!(
                "ValueError: Tried to step {step} times. The specified number of total steps is {}",
                self.total_steps
            ));
        }
        let mut start_step = 0.0;
        for (k, phase) in self.phases.iter().enumerate() {
            if step as f64 <= phase.end_step || k == self.phases.len() - 1 {
                let pct = py::div(step as f64 - start_step, phase.end_step - start_step)?;
                return Ok((phase, pct));
            }
            start_step = phase.end_step;
        }
        unreachable!("the last phase always matches")
    }

    /// `_annealing_cos` or `_annealing_linear`, from `start` to `end` as `pct` goes 0 to 1.
    fn anneal(&self, start: f64, end: f64, pct: f64) -> f64 {
        if self.linear {
            (end - start) * pct + start
        } else {
            let cos_out = (PI * pct).cos() + 1.0;
            end + (start - end) / 2.0 * cos_out
        }
    }
}

impl Formula for OneCycle {
    const NAME: &'static str = "OneCycleLR";

    fn lr(&self, c: &Ctx, i: usize, _lr: f64) -> PyResult<f64> {
        let (phase, pct) = self.phase(c.last_epoch)?;
        let (start, end) = (self.rate(phase.start, i), self.rate(phase.end, i));
        Ok(self.anneal(start, end, pct))
    }

    fn cycle(&self, c: &Ctx) -> PyResult<()> {
        let Some(cycle) = &self.cycle else {
            return Ok(());
        };
        let (phase, pct) = self.phase(c.last_epoch)?;
        let bound = |b: Bound, i: usize| match b {
            Bound::Base => cycle.base[i],
            Bound::Max => cycle.max[i],
        };
        let (start, end) = phase.momentum;
        let momenta = (0..cycle.max.len())
            .map(|i| self.anneal(bound(start, i), bound(end, i), pct))
            .collect();
        cycle.set(momenta);
        Ok(())
    }
}

/// `OneCycleLR(max_lr, total_steps=None, epochs=None, steps_per_epoch=None, pct_start=0.3,
/// anneal_strategy='cos', cycle_momentum=True, base_momentum=0.85, max_momentum=0.95,
/// div_factor=25.0, final_div_factor=1e4,
/// three_phase=False)`.
pub(super) fn one_cycle_lr(spec: &CallSpec, b: &mut Build) -> Result<Box<dyn Node>> {
    check_keywords(
        spec,
        &[
            "max_lr",
            "total_steps",
            "epochs",
            "steps_per_epoch",
            "pct_start",
            "anneal_strategy",
            "cycle_momentum",
            "base_momentum",
            "max_momentum",
            "div_factor",
            "final_div_factor",
            "three_phase",
            "last_epoch",
        ],
    )?;
    let positive = |key: &str| -> Result<Option<i64>> {
        if spec.is_none(key) {
            return Ok(None);
        }
        spec.typed(key, "a positive integer", |v| v.as_i64().filter(|n| *n > 0))
    };
    let total_steps = match (
        positive("total_steps")?,
        positive("epochs")?,
        positive("steps_per_epoch")?,
    ) {
        (Some(total), _, _) => total,
        (None, Some(epochs), Some(per_epoch)) => epochs
            .checked_mul(per_epoch)
            .ok_or_else(|| spec.error("epochs * steps_per_epoch overflows"))?,
        _ => return Err(spec.error("define either total_steps or both epochs and steps_per_epoch")),
    };
    // PyTorch insists on a float here (0 or 1 as ints are refused).
    let pct_start = spec
        .typed("pct_start", "a float between 0 and 1", |v| match v {
            Value::Float(x) if (0.0..=1.0).contains(x) => Some(*x),
            _ => None,
        })?
        .unwrap_or(0.3);
    let linear = choice(spec, "anneal_strategy", "cos", &["cos", "linear"])? == "linear";
    let max_lrs = spec.required("max_lr", |s, k| per_group(s, k, b.groups()))?;
    let div_factor = spec.f64("div_factor")?.unwrap_or(25.0);
    let final_div_factor = spec.f64("final_div_factor")?.unwrap_or(1e4);
    let divide = |x: f64, by: f64, what: &str| {
        py::div(x, by).map_err(|e| spec.error(&format!("{e} ({what} is 0)")))
    };
    let initial_lrs = max_lrs
        .iter()
        .map(|m| divide(*m, div_factor, "div_factor"))
        .collect::<Result<Vec<f64>>>()?;
    let min_lrs = initial_lrs
        .iter()
        .map(|l| divide(*l, final_div_factor, "final_div_factor"))
        .collect::<Result<Vec<f64>>>()?;
    let cycle = cycle_momentum(spec, b, (0.85, 0.95))?;

    let total = total_steps as f64;
    let last = Phase {
        end_step: (total_steps - 1) as f64,
        start: Rate::Initial,
        end: Rate::Min,
        momentum: (Bound::Max, Bound::Max),
    };
    let rise = Phase {
        end_step: pct_start * total - 1.0,
        start: Rate::Initial,
        end: Rate::Max,
        momentum: (Bound::Max, Bound::Base),
    };
    let phases = if spec.bool("three_phase")?.unwrap_or(false) {
        let fall = Phase {
            end_step: 2.0 * pct_start * total - 2.0,
            start: Rate::Max,
            end: Rate::Initial,
            momentum: (Bound::Base, Bound::Max),
        };
        vec![rise, fall, last]
    } else {
        vec![
            rise,
            Phase {
                start: Rate::Max,
                momentum: (Bound::Base, Bound::Max),
                ..last
            },
        ]
    };

    b.one_cycles += 1;
    if b.one_cycles > 1 {
        return Err(spec.error(
            "only one OneCycleLR per optimizer: PyTorch's share the param groups' initial_lr, \
             max_lr and min_lr, so a second one would change the first one's schedule",
        ));
    }
    // `group["initial_lr"] = max_lr / div_factor`: overwritten, not setdefault.
    b.initial = Some(initial_lrs.clone());
    let formula = OneCycle {
        total_steps,
        phases,
        linear,
        initial_lrs,
        max_lrs,
        min_lrs,
        cycle,
    };
    Stepped::boxed(formula, b)
}
