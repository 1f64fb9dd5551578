//! An evaluation's accuracy counts, on the host or (with `--loss-sync epoch`) on the device, like
//! [`EpochLoss`](super::EpochLoss): correct answers are integers, so both give the same counts.
use tch::{Device, Kind, Tensor};

use super::{Accuracy, LossSync};
use crate::error::Result;

/// Correct answers and samples over an evaluation.
#[derive(Debug)]
pub enum EpochAccuracy {
    /// Each batch's count is read as it comes (the seed's `.item()`).
    Host(Accuracy),
    /// The correct count stays on the device (int64) until the end; samples are counted here.
    Device { correct: Tensor, count: u64 },
}

impl EpochAccuracy {
    /// Empty counts for batches computed on `device`.
    pub fn new(sync: LossSync, device: Device) -> Result<EpochAccuracy> {
        Ok(match sync {
            LossSync::Batch => EpochAccuracy::Host(Accuracy::default()),
            LossSync::Epoch => EpochAccuracy::Device {
                correct: Tensor::f_zeros([] as [i64; 0], (Kind::Int64, device))?,
                count: 0,
            },
        })
    }

    /// Adds one batch: `correct` is an int64 scalar (as `Loss::correct` gives it) out of
    /// `batch_size` samples.
    pub fn update(&mut self, correct: &Tensor, batch_size: i64) -> Result<()> {
        let samples = batch_size.max(0) as u64;
        match self {
            EpochAccuracy::Host(acc) => acc.update(correct.f_int64_value(&[])? as u64, samples),
            EpochAccuracy::Device {
                correct: sum,
                count,
            } => {
                let _ = sum.f_add_(correct)?;
                *count += samples;
            }
        }
        Ok(())
    }

    /// The counts on the host (one device read for `Device`).
    pub fn to_host(&self) -> Result<Accuracy> {
        Ok(match self {
            EpochAccuracy::Host(acc) => *acc,
            EpochAccuracy::Device { correct, count } => {
                let mut acc = Accuracy::default();
                acc.update(correct.f_int64_value(&[])? as u64, *count);
                acc
            }
        })
    }
}
