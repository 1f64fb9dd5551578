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

impl EpochLoss {
    /// An empty epoch loss for batches computed on `device`.
    pub fn new(sync: LossSync, device: Device) -> Result<EpochLoss> {
        Ok(match sync {
            LossSync::Batch => EpochLoss::Host(LossAccumulator::new()),
            LossSync::Epoch => EpochLoss::Device(DeviceLossAccumulator::new(device)?),
        })
    }

    /// Adds one batch: `batch_mean` is the criterion's scalar mean over `batch_size` samples.
    #[inline]
    pub fn update(&mut self, batch_mean: &Tensor, batch_size: i64) -> Result<()> {
        match self {
            EpochLoss::Host(sum) => sum.update(batch_mean.f_double_value(&[])?, batch_size),
            EpochLoss::Device(sum) => sum.update(batch_mean, batch_size)?,
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

    /// `total_loss / len(dataset)`, after checking the sample count (one device read at most).
    pub fn average_over(&self, dataset_len: usize, phase: &'static str) -> Result<f64> {
        match self {
            EpochLoss::Host(sum) => sum.average_over(dataset_len, phase),
            EpochLoss::Device(sum) => sum.average_over(dataset_len, phase),
        }
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
