//! CyclicLR: a closed form in `last_epoch` (not chainable), between `base_lr` and `max_lr`.
use super::momentum::{cycle_momentum, Cycle};
use super::py::{self, PyResult};
use super::stepped::{Ctx, Formula, Stepped};
use super::{check_keywords, choice, per_group, Build, Node};
use crate::call_spec::CallSpec;
use crate::error::Result;

/// The amplitude's scaling (PyTorch's built-in `scale_fn`s; a custom one is a Python callable).
#[derive(Debug, Clone, Copy)]
enum Mode {
    /// 1.0.
    Triangular,
    /// `1 / 2.0 ** (cycle - 1)`.
    Triangular2,
    /// `gamma ** last_epoch`.
    ExpRange,
}

#[derive(Debug)]
struct Cyclic {
    max_lrs: Vec<f64>,
    total_size: f64,
    step_ratio: f64,
    mode: Mode,
    gamma: f64,
    cycle: Option<Cycle>,
}

impl Cyclic {
    /// Where `last_epoch` is in its cycle: `scale_factor` and the mode's scale.
    fn position(&self, c: &Ctx) -> PyResult<(f64, f64)> {
        let e = c.last_epoch as f64;
        // `math.floor(1 + last_epoch / total_size)`, an int.
        let cycle = (1.0 + e / self.total_size).floor();
        let x = 1.0 + e / self.total_size - cycle;
        let scale_factor = if x <= self.step_ratio {
            py::div(x, self.step_ratio)?
        } else {
            py::div(x - 1.0, self.step_ratio - 1.0)?
        };
        // The built-in modes force scale_mode: "cycle" for the triangles, "iterations" for exp_range.
        let scale = match self.mode {
            Mode::Triangular => 1.0,
            Mode::Triangular2 => py::div(1.0, py::pow(2.0, cycle - 1.0)?)?,
            Mode::ExpRange => py::pow(self.gamma, e)?,
        };
        Ok((scale_factor, scale))
    }
}

impl Formula for Cyclic {
    const NAME: &'static str = "CyclicLR";

    fn lr(&self, c: &Ctx, i: usize, _lr: f64) -> PyResult<f64> {
        let (scale_factor, scale) = self.position(c)?;
        let base_lr = c.base_lrs[i];
        let base_height = (self.max_lrs[i] - base_lr) * scale_factor;
        Ok(base_lr + base_height * scale)
    }

    fn cycle(&self, c: &Ctx) -> PyResult<()> {
        let Some(cycle) = &self.cycle else {
            return Ok(());
        };
        let (scale_factor, scale) = self.position(c)?;
        let momenta = cycle
            .base
            .iter()
            .zip(&cycle.max)
            .map(|(base, max)| max - (max - base) * scale_factor * scale)
            .collect();
        cycle.set(momenta);
        Ok(())
    }
}

/// `CyclicLR(base_lr, max_lr, step_size_up=2000, step_size_down=None, mode='triangular',
/// gamma=1.0, scale_mode='cycle', cycle_momentum=True, base_momentum=0.8,
/// max_momentum=0.9)`.
pub(super) fn cyclic_lr(spec: &CallSpec, b: &mut Build) -> Result<Box<dyn Node>> {
    check_keywords(
        spec,
        &[
            "base_lr",
            "max_lr",
            "step_size_up",
            "step_size_down",
            "mode",
            "gamma",
            "scale_fn",
            "scale_mode",
            "cycle_momentum",
            "base_momentum",
            "max_momentum",
            "last_epoch",
        ],
    )?;
    let groups = b.groups();
    let base_lrs = spec.required("base_lr", |s, k| per_group(s, k, groups))?;
    let max_lrs = spec.required("max_lr", |s, k| per_group(s, k, groups))?;
    // `float(step_size_up)`, and step_size_down = step_size_up when None.
    let up = spec.f64("step_size_up")?.unwrap_or(2000.0);
    let down = if spec.is_none("step_size_down") {
        None
    } else {
        spec.f64("step_size_down")?
    };
    let down = down.unwrap_or(up);
    let total_size = up + down;
    if total_size == 0.0 {
        return Err(
            spec.error("step_size_up + step_size_down must not be 0 (PyTorch divides by it)")
        );
    }
    if spec.get("scale_fn").is_some() && !spec.is_none("scale_fn") {
        return Err(spec.error("scale_fn takes a Python function and is not supported (use mode)"));
    }
    let mode = match choice(
        spec,
        "mode",
        "triangular",
        &["triangular", "triangular2", "exp_range"],
    )? {
        "triangular" => Mode::Triangular,
        "triangular2" => Mode::Triangular2,
        _ => Mode::ExpRange,
    };
    // Without scale_fn PyTorch overrides scale_mode by the mode; still a valid choice.
    choice(spec, "scale_mode", "cycle", &["cycle", "iterations"])?;
    let cycle = cycle_momentum(spec, b, (0.8, 0.9))?;
    let formula = Cyclic {
        max_lrs,
        total_size,
        step_ratio: up / total_size,
        mode,
        gamma: spec.f64("gamma")?.unwrap_or(1.0),
        cycle,
    };
    // Before LRScheduler.__init__ the groups' rates become base_lr, so a fresh optimizer's
    // initial_lr (the initial step's base_lrs) is base_lr; then base_lrs = base_lr.
    b.lrs.copy_from_slice(&base_lrs);
    let mut s = Stepped::new(formula, b)?;
    s.ctx.base_lrs = base_lrs;
    Ok(Box::new(s))
}
