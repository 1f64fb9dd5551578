//! Warm-ups: ConstantLR and LinearLR. Both change the rate already in the constructor's step
//! (`last_epoch == 0`: times `factor` / `start_factor`), then recursively.
use super::py::{self, PyResult};
use super::stepped::{Ctx, Formula, Stepped};
use super::{check_keywords, Build, Node};
use crate::call_spec::CallSpec;
use crate::error::Result;

/// `ConstantLR(factor=1/3, total_iters=5)`: times `factor` until `total_iters`, then times
/// `1 / factor` once (which rounds: the rate need not come back to its bits).
#[derive(Debug)]
struct ConstantLr {
    factor: f64,
    total_iters: i64,
}

impl Formula for ConstantLr {
    const NAME: &'static str = "ConstantLR";

    fn lr(&self, c: &Ctx, _i: usize, lr: f64) -> PyResult<f64> {
        if c.last_epoch == 0 {
            return Ok(lr * self.factor);
        }
        if c.last_epoch != self.total_iters {
            return Ok(lr);
        }
        Ok(lr * py::div(1.0, self.factor)?)
    }

    fn closed_form(&self, c: &Ctx, i: usize) -> PyResult<Option<f64>> {
        // `factor + (last_epoch >= total_iters) * (1 - factor)`: False * x is 0.0.
        let done = if c.last_epoch >= self.total_iters {
            1.0 - self.factor
        } else {
            0.0
        };
        Ok(Some(c.base_lrs[i] * (self.factor + done)))
    }
}

pub(super) fn constant_lr(spec: &CallSpec, b: &mut Build) -> Result<Box<dyn Node>> {
    check_keywords(spec, &["factor", "total_iters", "last_epoch"])?;
    let factor = spec.f64("factor")?.unwrap_or(1.0 / 3.0);
    if !(0.0..=1.0).contains(&factor) {
        return Err(spec.error(&format!("factor must be between 0 and 1, got {factor}")));
    }
    let formula = ConstantLr {
        factor,
        total_iters: spec.usize("total_iters")?.unwrap_or(5) as i64,
    };
    Stepped::boxed(formula, b)
}

/// `LinearLR(start_factor=1/3, end_factor=1.0, total_iters=5)`: the factor moves linearly from
/// `start_factor` to `end_factor`, applied as the ratio of consecutive factors.
#[derive(Debug)]
struct LinearLr {
    start: f64,
    end: f64,
    total_iters: i64,
}

impl Formula for LinearLr {
    const NAME: &'static str = "LinearLR";

    fn lr(&self, c: &Ctx, _i: usize, lr: f64) -> PyResult<f64> {
        if c.last_epoch == 0 {
            return Ok(lr * self.start);
        }
        if c.is_initial || c.last_epoch > self.total_iters {
            return Ok(lr);
        }
        let slope = self.end - self.start;
        let denominator = self.total_iters as f64 * self.start + (c.last_epoch - 1) as f64 * slope;
        Ok(lr * (1.0 + py::div(slope, denominator)?))
    }

    fn closed_form(&self, c: &Ctx, i: usize) -> PyResult<Option<f64>> {
        let done = self.total_iters.min(c.last_epoch) as f64;
        let factor = self.start + py::div((self.end - self.start) * done, self.total_iters as f64)?;
        Ok(Some(c.base_lrs[i] * factor))
    }
}

pub(super) fn linear_lr(spec: &CallSpec, b: &mut Build) -> Result<Box<dyn Node>> {
    check_keywords(
        spec,
        &["start_factor", "end_factor", "total_iters", "last_epoch"],
    )?;
    let start = spec.f64("start_factor")?.unwrap_or(1.0 / 3.0);
    if !(start > 0.0 && start <= 1.0) {
        return Err(spec.error(&format!(
            "start_factor must be greater than 0 and at most 1, got {start}"
        )));
    }
    let end = spec.f64("end_factor")?.unwrap_or(1.0);
    if !(0.0..=1.0).contains(&end) {
        return Err(spec.error(&format!("end_factor must be between 0 and 1, got {end}")));
    }
    let formula = LinearLr {
        start,
        end,
        total_iters: spec.usize("total_iters")?.unwrap_or(5) as i64,
    };
    Stepped::boxed(formula, b)
}
