//! `--loss-sync batch|epoch`: when the epoch's loss sum is read from the device.
//!
//! - `batch` (the default) is the seed's `total_loss += loss.item() * batch_size`: one read per
//!   batch, which on CUDA is a device-to-host copy and a synchronisation.
//! - `epoch` adds `loss * batch_size` on the device ([`DeviceLossAccumulator`]) and reads the sum
//!   once, when the epoch ends (and every few batches while a progress bar shows it).
//!
//! Both give the same bits; on the CPU `batch` is the cheaper one (one read instead of three small
//! tensor operations per batch).
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use tch::{Device, Tensor};

use super::{DeviceLossAccumulator, LossAccumulator, RunningLoss};
use crate::error::{Error, Result};

/// When the running loss is read back from the device.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LossSync {
    /// Read every batch's loss (`loss.item()`), as the seed does.
    #[default]
    Batch,
    /// Keep the sum on the device; read it once per epoch.
    Epoch,
}

impl LossSync {
    /// Both modes, in command-line order.
    pub const ALL: [LossSync; 2] = [LossSync::Batch, LossSync::Epoch];

    /// The command-line name.
    pub fn name(self) -> &'static str {
        match self {
            LossSync::Batch => "batch",
            LossSync::Epoch => "epoch",
        }
    }
}

impl fmt::Display for LossSync {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for LossSync {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        LossSync::ALL
            .into_iter()
            .find(|m| m.name() == s)
            .ok_or_else(|| {
                Error::Config(format!(
                    "invalid --loss-sync '{s}' (expected batch or epoch)"
                ))
            })
    }
}

/// An epoch's `total_loss`, on the host or on the device as `LossSync` says; the same
/// `update`/`average_over` API either way.
#[derive(Debug)]
pub enum EpochLoss {
    /// `LossSync::Batch`: each batch mean is read as it comes.
    Host(LossAccumulator),
    /// `LossSync::Epoch`: the sum stays on the device until the epoch ends.
    Device(DeviceLossAccumulator),
}

/// A batch's mean loss as the loop holds it: read to the host (`LossSync::Batch`, the seed's
/// `loss.item()`), or left on the device (`LossSync::Epoch`).
#[derive(Debug)]
pub enum BatchLoss<'a> {
    Read(f64),
    OnDevice(&'a Tensor),
}

impl BatchLoss<'_> {
    /// Whether the loss is known to be NaN or infinite (never known while it stays on the device).
    pub fn is_nonfinite(&self) -> bool {
        matches!(self, BatchLoss::Read(v) if !v.is_finite())
    }
}

impl EpochLoss {
    /// An empty epoch loss for batches computed on `device`.
    pub fn new(sync: LossSync, device: Device) -> Result<EpochLoss> {
        Self::starting_from(sync, device, LossAccumulator::new())
    }

    /// An epoch loss that goes on from `start` (a stopped epoch's partial sum).
    pub fn starting_from(
        sync: LossSync,
        device: Device,
        start: LossAccumulator,
    ) -> Result<EpochLoss> {
        Ok(match sync {
            LossSync::Batch => EpochLoss::Host(start),
            LossSync::Epoch => {
                EpochLoss::Device(DeviceLossAccumulator::starting_from(device, start)?)
            }
        })
    }

    /// The batch mean as this mode keeps it: `loss.item()` (a device read) or the tensor itself.
    #[inline]
    pub fn read<'a>(&self, batch_mean: &'a Tensor) -> Result<BatchLoss<'a>> {
        Ok(match self {
            EpochLoss::Host(_) => BatchLoss::Read(batch_mean.f_double_value(&[])?),
            EpochLoss::Device(_) => BatchLoss::OnDevice(batch_mean),
        })
    }

    /// Adds one batch: its mean (from [`EpochLoss::read`]) times `batch_size`.
    #[inline]
    pub fn update(&mut self, batch_mean: BatchLoss, batch_size: i64) -> Result<()> {
        match (self, batch_mean) {
            (EpochLoss::Host(sum), BatchLoss::Read(v)) => sum.update(v, batch_size),
            (EpochLoss::Host(sum), BatchLoss::OnDevice(t)) => {
                sum.update(t.f_double_value(&[])?, batch_size)
            }
            (EpochLoss::Device(sum), BatchLoss::OnDevice(t)) => sum.update(t, batch_size)?,
            (EpochLoss::Device(_), BatchLoss::Read(_)) => {
                return Err(Error::Config(
                    "internal: a host loss added to a device sum".into(),
                ))
            }
        }
        Ok(())
    }

    /// Samples seen (no device read).
    pub fn count(&self) -> u64 {
        match self {
            EpochLoss::Host(sum) => sum.count(),
            EpochLoss::Device(sum) => sum.count(),
        }
    }

    /// The sum and count on the host (one device read in `Epoch` mode).
    pub fn to_host(&self) -> Result<LossAccumulator> {
        match self {
            EpochLoss::Host(sum) => Ok(*sum),
            EpochLoss::Device(sum) => sum.to_host(),
        }
    }

    /// `total_loss / len(dataset)`, after checking the sample count (one device read at most).
    pub fn average_over(&self, dataset_len: usize, phase: &'static str) -> Result<f64> {
        self.to_host()?.average_over(dataset_len, phase)
    }
}

impl RunningLoss for EpochLoss {
    fn count(&self) -> u64 {
        EpochLoss::count(self)
    }

    /// For `Device`, a device read: the progress bar calls it every few batches only.
    fn mean(&self) -> Option<f64> {
        match self {
            EpochLoss::Host(sum) => sum.mean(),
            EpochLoss::Device(sum) => sum.to_host().ok()?.mean(),
        }
    }
}
