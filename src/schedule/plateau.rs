//! ReduceLROnPlateau: times `factor` (not below `min_lr`, and only by more than `eps`) once the
//! metric has not improved for more than `patience` steps. Its constructor takes no step and
//! sets no `initial_lr`.
use serde_json::Value as Json;

use super::py;
use super::state::{self, Saved};
use super::{choice, per_group, Build, Node};
use crate::call_spec::CallSpec;
use crate::error::{Error, Result};

const NAME: &str = "ReduceLROnPlateau";

#[derive(Debug)]
struct Plateau {
    max_mode: bool,
    abs_threshold: bool,
    factor: f64,
    patience: i64,
    threshold: f64,
    cooldown: i64,
    min_lrs: Vec<f64>,
    eps: f64,
    last_epoch: i64,
    best: f64,
    num_bad_epochs: i64,
    cooldown_counter: i64,
}

impl Plateau {
    /// `_is_better(a, best)`.
    fn is_better(&self, a: f64) -> bool {
        match (self.max_mode, self.abs_threshold) {
            (false, false) => a < self.best * (1.0 - self.threshold),
            (false, true) => a < self.best - self.threshold,
            (true, false) => a > self.best * (self.threshold + 1.0),
            (true, true) => a > self.best + self.threshold,
        }
    }
}

impl Node for Plateau {
    fn step(&mut self, lrs: &mut [f64], metric: Option<f64>) -> Result<()> {
        let current = metric
            .ok_or_else(|| Error::Config(format!("{NAME}: step needs the metric it watches")))?;
        self.last_epoch += 1;
        if self.is_better(current) {
            self.best = current;
            self.num_bad_epochs = 0;
        } else {
            self.num_bad_epochs += 1;
        }
        if self.cooldown_counter > 0 {
            self.cooldown_counter -= 1;
            self.num_bad_epochs = 0;
        }
        if self.num_bad_epochs > self.patience {
            // `_reduce_lr`.
            for (lr, min_lr) in lrs.iter_mut().zip(&self.min_lrs) {
                let new_lr = py::max(*lr * self.factor, *min_lr);
                if *lr - new_lr > self.eps {
                    *lr = new_lr;
                }
            }
            self.cooldown_counter = self.cooldown;
            self.num_bad_epochs = 0;
        }
        Ok(())
    }

    fn initial_step(&mut self, _lrs: &mut [f64]) -> Result<()> {
        Err(Error::Config(format!("{NAME} cannot be nested")))
    }

    fn undo(&mut self) {
        self.last_epoch -= 1;
    }

    fn restart(&mut self, lrs: &mut [f64]) -> Result<()> {
        self.initial_step(lrs)
    }

    fn name(&self) -> &'static str {
        NAME
    }

    fn needs_metric(&self) -> bool {
        true
    }

    fn state(&self) -> Json {
        let mut m = state::object(NAME);
        m.insert("last_epoch".into(), self.last_epoch.into());
        m.insert("best".into(), state::float(self.best));
        m.insert("num_bad_epochs".into(), self.num_bad_epochs.into());
        m.insert("cooldown_counter".into(), self.cooldown_counter.into());
        Json::Object(m)
    }

    fn load_state(&mut self, state: &Json) -> Result<()> {
        let saved = Saved::of(state, NAME)?;
        let loaded = (
            saved.int("last_epoch")?,
            saved.float("best")?,
            saved.int("num_bad_epochs")?,
            saved.int("cooldown_counter")?,
        );
        (
            self.last_epoch,
            self.best,
            self.num_bad_epochs,
            self.cooldown_counter,
        ) = loaded;
        Ok(())
    }
}

/// `ReduceLROnPlateau(mode='min', factor=0.1, patience=10, threshold=1e-4, threshold_mode='rel',
/// cooldown=0, min_lr=0, eps=1e-8)`; PyTorch 2.11 takes no `last_epoch` here.
pub(super) fn reduce_on_plateau(spec: &CallSpec, b: &mut Build) -> Result<Box<dyn Node>> {
    spec.check_keywords(&[
        "mode",
        "factor",
        "patience",
        "threshold",
        "threshold_mode",
        "cooldown",
        "min_lr",
        "eps",
    ])?;
    let factor = spec.f64("factor")?.unwrap_or(0.1);
    if factor >= 1.0 {
        return Err(spec.error(&format!("factor must be < 1.0, got {factor}")));
    }
    let max_mode = choice(spec, "mode", "min", &["min", "max"])? == "max";
    let abs_threshold = choice(spec, "threshold_mode", "rel", &["rel", "abs"])? == "abs";
    Ok(Box::new(Plateau {
        max_mode,
        abs_threshold,
        factor,
        patience: spec.i64("patience")?.unwrap_or(10),
        threshold: spec.f64("threshold")?.unwrap_or(1e-4),
        cooldown: spec.i64("cooldown")?.unwrap_or(0),
        min_lrs: per_group(spec, "min_lr", b.groups())?.unwrap_or(vec![0.0; b.groups()]),
        eps: spec.f64("eps")?.unwrap_or(1e-8),
        last_epoch: 0,
        best: if max_mode {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        },
        num_bad_epochs: 0,
        cooldown_counter: 0,
    }))
}
