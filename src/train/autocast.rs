//! `--precision bf16-mixed | 16-mixed`: the forward pass and the criterion of every training
//! batch under `torch.autocast(device.type, dtype=…)`, as Lightning's MixedPrecision plugin
//! wraps them and a PyTorch loop writes `with torch.autocast(…): loss = criterion(model(x), y)`.
//! The loss comes out as the criterion makes it under autocast (float32 for every loss here) and
//! its backward pass runs outside the region, as in Python.
use tch::{Device, Kind, Tensor};

use super::hook::{Slot, StepHook};
use crate::autocast::{check_precision, AutocastGuard};
use crate::config::Precision;
use crate::error::Result;

/// The autocast region around each batch's forward pass (slot `Autocast`, outermost).
pub struct Autocast {
    device: Device,
    kind: Kind,
}

impl Autocast {
    /// The hook for `precision` on `device`, checked to work there; `None` for `32`.
    pub fn for_run(precision: Precision, device: Device) -> Result<Option<Autocast>> {
        let Some(kind) = precision.autocast_kind() else {
            return Ok(None);
        };
        check_precision(precision, device)?;
        Ok(Some(Autocast { device, kind }))
    }
}

impl StepHook for Autocast {
    fn slot(&self) -> Slot {
        Slot::Autocast
    }

    fn around_forward(&mut self, forward: &mut dyn FnMut() -> Result<Tensor>) -> Result<Tensor> {
        // Entered and left per batch, as Python's `with`: leaving clears the cast weights' cache.
        let _region = AutocastGuard::enter(self.device, self.kind)?;
        forward()
    }
}
