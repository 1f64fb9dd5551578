//! Cosine annealing. CosineAnnealingLR is recursive (the ratio of consecutive `1 + cos`, with a
//! special case where that ratio is 0/0), so its rates drift from the closed form's in the last
//! bits; CosineAnnealingWarmRestarts is closed-form in `T_cur / T_i`, counted in ints.
use std::f64::consts::PI;

use serde_json::{Map, Value as Json};

use super::py::{self, PyResult};
use super::state::Saved;
use super::stepped::{Ctx, Formula, Stepped};
use super::{check_keywords, Build, Node};
use crate::call_spec::CallSpec;
use crate::error::Result;

/// `CosineAnnealingLR(T_max, eta_min=0.0)`.
#[derive(Debug)]
struct CosineAnnealing {
    t_max: i64,
    eta_min: f64,
}

impl CosineAnnealing {
    /// `eta_min + (base_lr - eta_min) * (1 + cos(e * pi / T_max)) / 2`.
    fn closed(&self, base_lr: f64, e: i64) -> f64 {
        let cos = (e as f64 * PI / self.t_max as f64).cos();
        self.eta_min + (base_lr - self.eta_min) * (1.0 + cos) / 2.0
    }
}

impl Formula for CosineAnnealing {
    const NAME: &'static str = "CosineAnnealingLR";

    fn lr(&self, c: &Ctx, i: usize, lr: f64) -> PyResult<f64> {
        let (e, t) = (c.last_epoch, self.t_max as f64);
        if c.is_initial {
            Ok(lr)
        } else if c.step_count == 1 && e > 0 {
            // Only after a resume with last_epoch > 0, which we never construct; kept for fidelity.
            Ok(self.closed(c.base_lrs[i], e))
        } else if py::rem(e - 1 - self.t_max, 2 * self.t_max)? == 0 {
            // Just past a minimum, where the ratio below would be 0/0.
            let rise = (c.base_lrs[i] - self.eta_min) * (1.0 - (PI / t).cos()) / 2.0;
            Ok(lr + rise)
        } else {
            let now = 1.0 + (PI * e as f64 / t).cos();
            let before = 1.0 + (PI * (e - 1) as f64 / t).cos();
            Ok(py::div(now, before)? * (lr - self.eta_min) + self.eta_min)
        }
    }

    fn closed_form(&self, c: &Ctx, i: usize) -> PyResult<Option<f64>> {
        // PyTorch writes `math.pi * last_epoch / T_max` here: the same product.
        Ok(Some(self.closed(c.base_lrs[i], c.last_epoch)))
    }
}

pub(super) fn cosine_annealing_lr(spec: &CallSpec, b: &mut Build) -> Result<Box<dyn Node>> {
    check_keywords(spec, &["T_max", "eta_min", "last_epoch"])?;
    let t_max = spec.required("T_max", CallSpec::usize)?;
    if t_max == 0 {
        // PyTorch accepts it and fails at the first step (`% (2 * T_max)`).
        return Err(spec.error("T_max must be a positive integer, got 0"));
    }
    let formula = CosineAnnealing {
        t_max: t_max as i64,
        eta_min: spec.f64("eta_min")?.unwrap_or(0.0),
    };
    Stepped::boxed(formula, b)
}

/// `CosineAnnealingWarmRestarts(T_0, T_mult=1, eta_min=0.0)`: its own `step()` counts `T_cur`
/// and `T_i` (ints: the float branch needs `step(epoch)`, which we never call).
#[derive(Debug)]
struct WarmRestarts {
    t_0: i64,
    t_mult: i64,
    eta_min: f64,
    t_i: i64,
    t_cur: i64,
}

impl Formula for WarmRestarts {
    const NAME: &'static str = "CosineAnnealingWarmRestarts";

    fn lr(&self, c: &Ctx, i: usize, _lr: f64) -> PyResult<f64> {
        let cos = (PI * self.t_cur as f64 / self.t_i as f64).cos();
        Ok(self.eta_min + (c.base_lrs[i] - self.eta_min) * (1.0 + cos) / 2.0)
    }

    /// `step()` without an epoch; it leaves `_step_count` alone.
    fn advance(&mut self, c: &mut Ctx) -> PyResult<()> {
        if c.last_epoch < 0 {
            // `epoch = 0`, below `T_0`.
            self.t_i = self.t_0;
            self.t_cur = 0;
            c.last_epoch = 0;
            return Ok(());
        }
        c.last_epoch += 1;
        self.t_cur += 1;
        if self.t_cur >= self.t_i {
            self.t_cur = py::rem(self.t_cur, self.t_i)?;
            self.t_i = self
                .t_i
                .checked_mul(self.t_mult)
                .ok_or("T_i overflows a 64-bit integer")?;
        }
        Ok(())
    }

    fn save(&self, state: &mut Map<String, Json>) {
        state.insert("T_i".into(), self.t_i.into());
        state.insert("T_cur".into(), self.t_cur.into());
    }

    fn load(&mut self, saved: &Saved) -> Result<()> {
        self.t_i = saved.int("T_i")?;
        self.t_cur = saved.int("T_cur")?;
        Ok(())
    }
}

pub(super) fn warm_restarts(spec: &CallSpec, b: &mut Build) -> Result<Box<dyn Node>> {
    check_keywords(spec, &["T_0", "T_mult", "eta_min", "last_epoch"])?;
    let t_0 = spec.required("T_0", |s, k| {
        s.typed(k, "a positive integer", |v| v.as_i64().filter(|t| *t > 0))
    })?;
    let t_mult = spec
        .typed("T_mult", "an integer >= 1", |v| {
            v.as_i64().filter(|t| *t >= 1)
        })?
        .unwrap_or(1);
    let formula = WarmRestarts {
        t_0,
        t_mult,
        eta_min: spec.f64("eta_min")?.unwrap_or(0.0),
        t_i: t_0,
        t_cur: -1,
    };
    Stepped::boxed(formula, b)
}
