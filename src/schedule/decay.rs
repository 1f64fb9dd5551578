//! Decays by a factor: StepLR, MultiStepLR, ExponentialLR, PolynomialLR. All chainable: each step
//! multiplies the current rate (never `base_lr * gamma ** n`, which rounds differently); the
//! closed forms serve SequentialLR's milestones only.
use super::py::{self, PyResult};
use super::stepped::{Ctx, Formula, Stepped};
use super::{check_keywords, Build, Node};
use crate::call_spec::CallSpec;
use crate::error::Result;

/// `StepLR(step_size, gamma=0.1)`: times `gamma` every `step_size` steps.
#[derive(Debug)]
struct StepLr {
    step_size: i64,
    gamma: f64,
}

impl Formula for StepLr {
    const NAME: &'static str = "StepLR";

    fn lr(&self, c: &Ctx, _i: usize, lr: f64) -> PyResult<f64> {
        if c.last_epoch == 0 || py::rem(c.last_epoch, self.step_size)? != 0 {
            return Ok(lr);
        }
        Ok(lr * self.gamma)
    }

    fn closed_form(&self, c: &Ctx, i: usize) -> PyResult<Option<f64>> {
        let n = py::floor_div(c.last_epoch, self.step_size)?;
        Ok(Some(c.base_lrs[i] * py::pow(self.gamma, n as f64)?))
    }
}

pub(super) fn step_lr(spec: &CallSpec, b: &mut Build) -> Result<Box<dyn Node>> {
    check_keywords(spec, &["step_size", "gamma", "last_epoch"])?;
    let step_size = spec.required("step_size", CallSpec::usize)?;
    if step_size == 0 {
        // PyTorch accepts it and fails at the first step (`last_epoch % 0`).
        return Err(spec.error("step_size must be a positive integer, got 0"));
    }
    let formula = StepLr {
        step_size: step_size as i64,
        gamma: spec.f64("gamma")?.unwrap_or(0.1),
    };
    Stepped::boxed(formula, b)
}

/// `MultiStepLR(milestones, gamma=0.1)`: times `gamma ** k` at a milestone listed `k` times.
#[derive(Debug)]
struct MultiStepLr {
    /// Sorted, repeats kept (PyTorch's `Counter`, and `sorted(elements())` in the closed form).
    milestones: Vec<i64>,
    gamma: f64,
}

impl Formula for MultiStepLr {
    const NAME: &'static str = "MultiStepLR";

    fn lr(&self, c: &Ctx, _i: usize, lr: f64) -> PyResult<f64> {
        let count = self
            .milestones
            .iter()
            .filter(|m| **m == c.last_epoch)
            .count();
        if count == 0 {
            return Ok(lr);
        }
        Ok(lr * py::pow(self.gamma, count as f64)?)
    }

    fn closed_form(&self, c: &Ctx, i: usize) -> PyResult<Option<f64>> {
        let n = py::bisect_right(&self.milestones, c.last_epoch);
        Ok(Some(c.base_lrs[i] * py::pow(self.gamma, n as f64)?))
    }
}

pub(super) fn multi_step_lr(spec: &CallSpec, b: &mut Build) -> Result<Box<dyn Node>> {
    check_keywords(spec, &["milestones", "gamma", "last_epoch"])?;
    let mut milestones: Vec<i64> = spec
        .required("milestones", CallSpec::usize_list)?
        .into_iter()
        .map(|m| m as i64)
        .collect();
    milestones.sort_unstable();
    let formula = MultiStepLr {
        milestones,
        gamma: spec.f64("gamma")?.unwrap_or(0.1),
    };
    Stepped::boxed(formula, b)
}

/// `ExponentialLR(gamma)`: times `gamma` every step.
#[derive(Debug)]
struct ExponentialLr {
    gamma: f64,
}

impl Formula for ExponentialLr {
    const NAME: &'static str = "ExponentialLR";

    fn lr(&self, c: &Ctx, _i: usize, lr: f64) -> PyResult<f64> {
        if c.is_initial {
            return Ok(lr);
        }
        Ok(lr * self.gamma)
    }

    fn closed_form(&self, c: &Ctx, i: usize) -> PyResult<Option<f64>> {
        Ok(Some(
            c.base_lrs[i] * py::pow(self.gamma, c.last_epoch as f64)?,
        ))
    }
}

pub(super) fn exponential_lr(spec: &CallSpec, b: &mut Build) -> Result<Box<dyn Node>> {
    check_keywords(spec, &["gamma", "last_epoch"])?;
    let formula = ExponentialLr {
        gamma: spec.required("gamma", CallSpec::f64)?,
    };
    Stepped::boxed(formula, b)
}

/// `PolynomialLR(total_iters=5, power=1.0)`: towards 0 over `total_iters` steps, as the ratio of
/// consecutive `(1 - t/T) ** power`.
#[derive(Debug)]
struct PolynomialLr {
    total_iters: i64,
    power: f64,
}

impl Formula for PolynomialLr {
    const NAME: &'static str = "PolynomialLR";

    fn lr(&self, c: &Ctx, _i: usize, lr: f64) -> PyResult<f64> {
        if c.is_initial || c.last_epoch > self.total_iters {
            return Ok(lr);
        }
        let t = self.total_iters as f64;
        let now = 1.0 - py::div(c.last_epoch as f64, t)?;
        let before = 1.0 - py::div((c.last_epoch - 1) as f64, t)?;
        Ok(lr * py::pow(py::div(now, before)?, self.power)?)
    }

    fn closed_form(&self, c: &Ctx, i: usize) -> PyResult<Option<f64>> {
        let done = self.total_iters.min(c.last_epoch) as f64;
        let left = 1.0 - py::div(done, self.total_iters as f64)?;
        Ok(Some(c.base_lrs[i] * py::pow(left, self.power)?))
    }
}

pub(super) fn polynomial_lr(spec: &CallSpec, b: &mut Build) -> Result<Box<dyn Node>> {
    check_keywords(spec, &["total_iters", "power", "last_epoch"])?;
    let formula = PolynomialLr {
        total_iters: spec.usize("total_iters")?.unwrap_or(5) as i64,
        power: spec.f64("power")?.unwrap_or(1.0),
    };
    Stepped::boxed(formula, b)
}
