//! A tally: a sum and the count behind it — the seed's `total_loss` and the samples it covers, or
//! correct answers and samples. Every epoch metric is one (train loss, eval loss, accuracy), so
//! the seed's formula is written once, here, and so is the reduction across processes.
//!
//! The sum lives on the host (`--loss-sync batch`: each batch mean is read, the seed's
//! `loss.item()`) or on the device (`--loss-sync epoch`: nothing is read until the end, so a CUDA
//! run is not synchronised once per batch). Both give the same bits: the float32 batch mean
//! widens to float64 exactly, its product with a batch size below 2^29 is exact in float64, and the
//! sums are taken in the same order with the same IEEE rounding (a fused multiply-add rounds once,
//! but the product is exact, so that is the same rounding).
mod reduce;

pub use reduce::{Reduce, SingleProcess};

use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};

use crate::config::LossSync;
use crate::error::{Error, Result};

/// A running sum of per-sample values and the number of samples behind it.
#[derive(Debug)]
pub struct Tally {
    sum: Sum,
    count: u64,
}

#[derive(Debug)]
enum Sum {
    Host(f64),
    /// A float64 scalar on a device, and the last batch size as a float64 scalar there too (made
    /// once per batch size: one tensor operation per batch, `sum.addcmul_(mean, size)`).
    Device {
        sum: Tensor,
        size: (i64, Tensor),
    },
}

/// A batch's mean as the loop holds it: read to the host (`LossSync::Batch`), or left on the
/// device (`LossSync::Epoch`).
#[derive(Debug, Clone, Copy)]
pub enum BatchMean<'a> {
    Read(f64),
    OnDevice(&'a Tensor),
}

impl BatchMean<'_> {
    /// Whether the mean is known to be NaN or infinite (never known while it stays on the device).
    pub fn is_nonfinite(&self) -> bool {
        matches!(self, BatchMean::Read(v) if !v.is_finite())
    }
}

impl Default for Tally {
    fn default() -> Self {
        Tally::new()
    }
}

impl Tally {
    /// An empty tally on the host.
    pub fn new() -> Tally {
        Tally {
            sum: Sum::Host(0.0),
            count: 0,
        }
    }

    /// An empty tally for batches computed on `device`: on the host, or there for `Epoch`.
    pub fn for_sync(sync: LossSync, device: Device) -> Result<Tally> {
        Tally::new().placed(sync, device)
    }

    /// This tally where `sync` keeps it (a stopped epoch's host sum goes on on the device).
    pub fn placed(self, sync: LossSync, device: Device) -> Result<Tally> {
        Ok(match (sync, self.sum) {
            (LossSync::Epoch, Sum::Host(sum)) => Tally {
                sum: Sum::Device {
                    sum: scalar(sum, device)?,
                    size: (0, scalar(0.0, device)?),
                },
                count: self.count,
            },
            (_, sum) => Tally {
                sum,
                count: self.count,
            },
        })
    }

    /// The batch mean as this tally keeps it: `loss.item()` (a device read) or the tensor itself.
    #[inline]
    pub fn read<'a>(&self, batch_mean: &'a Tensor) -> Result<BatchMean<'a>> {
        Ok(match self.sum {
            Sum::Host(_) => BatchMean::Read(batch_mean.f_double_value(&[])?),
            Sum::Device { .. } => BatchMean::OnDevice(batch_mean),
        })
    }

    /// The seed's formula: `total_loss += batch_mean * batch_size`.
    #[inline]
    pub fn add(&mut self, batch_mean: BatchMean, batch_size: i64) -> Result<()> {
        match (&mut self.sum, batch_mean) {
            (Sum::Host(sum), BatchMean::Read(mean)) => *sum += mean * batch_size as f64,
            (Sum::Host(sum), BatchMean::OnDevice(t)) => {
                *sum += t.f_double_value(&[])? * batch_size as f64
            }
            (Sum::Device { sum, size }, BatchMean::OnDevice(t)) => {
                if size.0 != batch_size {
                    *size = (batch_size, scalar(batch_size as f64, sum.device())?);
                }
                let _ = tch::no_grad(|| sum.f_addcmul_(t, &size.1))?;
            }
            (Sum::Device { sum, .. }, BatchMean::Read(mean)) => {
                let _ = sum.f_add_scalar_(mean * batch_size as f64)?;
            }
        }
        self.count += batch_size.max(0) as u64;
        Ok(())
    }

    /// Adds a batch's *sum* (an integer or float scalar tensor, e.g. its correct answers) over
    /// `count` samples.
    pub fn add_sum(&mut self, batch_sum: &Tensor, count: i64) -> Result<()> {
        match &mut self.sum {
            Sum::Host(sum) => *sum += batch_sum.f_double_value(&[])?,
            Sum::Device { sum, .. } => {
                let _ = tch::no_grad(|| sum.f_add_(batch_sum))?;
            }
        }
        self.count += count.max(0) as u64;
        Ok(())
    }

    /// Folds another shard's tally into this one; merging shards equals tallying the whole.
    pub fn merge(&mut self, other: &Tally) -> Result<()> {
        let other_sum = other.sum()?;
        match &mut self.sum {
            Sum::Host(sum) => *sum += other_sum,
            Sum::Device { sum, .. } => {
                let _ = sum.f_add_scalar_(other_sum)?;
            }
        }
        self.count += other.count;
        Ok(())
    }

    /// Sums this tally over the processes of a run (nothing to do, and no device read, for one).
    pub fn reduce(&mut self, processes: &dyn Reduce) -> Result<()> {
        if processes.world_size() == 1 {
            return Ok(());
        }
        let mut values = [self.sum()?, self.count as f64];
        processes.sum_f64(&mut values)?;
        *self = Tally::from_parts(values[0], values[1] as u64);
        Ok(())
    }

    /// A host tally of `sum` over `count` samples.
    pub fn from_parts(sum: f64, count: u64) -> Tally {
        Tally {
            sum: Sum::Host(sum),
            count,
        }
    }

    /// Samples counted (no device read).
    pub fn count(&self) -> u64 {
        self.count
    }

    /// The sum (one device read for a device tally: a synchronisation on CUDA).
    pub fn sum(&self) -> Result<f64> {
        Ok(match &self.sum {
            Sum::Host(sum) => *sum,
            Sum::Device { sum, .. } => sum.f_double_value(&[])?,
        })
    }

    /// The same tally on the host.
    pub fn to_host(&self) -> Result<Tally> {
        Ok(Tally::from_parts(self.sum()?, self.count))
    }

    /// The running mean, `None` before any sample or when the device cannot be read.
    pub fn mean(&self) -> Option<f64> {
        let sum = self.sum().ok()?;
        (self.count > 0).then(|| sum / self.count as f64)
    }

    /// `sum / count` (accuracy: correct / samples), `None` before any sample.
    pub fn ratio(&self) -> Result<Option<f64>> {
        let sum = self.sum()?;
        Ok((self.count > 0).then(|| sum / self.count as f64))
    }

    /// `total_loss / len(dataset)`, after checking that every sample of the dataset was counted
    /// exactly once: a dropped short batch would otherwise give a silently wrong average.
    pub fn average_over(&self, dataset_len: usize, phase: &'static str) -> Result<f64> {
        if self.count != dataset_len as u64 || dataset_len == 0 {
            return Err(Error::SampleCount {
                phase,
                seen: self.count,
                expected: dataset_len as u64,
            });
        }
        Ok(self.sum()? / dataset_len as f64)
    }
}

impl Clone for Tally {
    /// A copy that shares nothing with the original (a device sum is copied).
    fn clone(&self) -> Tally {
        let sum = match &self.sum {
            Sum::Host(sum) => Sum::Host(*sum),
            Sum::Device { sum, size } => Sum::Device {
                sum: sum.copy(),
                size: (size.0, size.1.copy()),
            },
        };
        Tally {
            sum,
            count: self.count,
        }
    }
}

impl PartialEq for Tally {
    fn eq(&self, other: &Tally) -> bool {
        self.count == other.count && matches!((self.sum(), other.sum()), (Ok(a), Ok(b)) if a == b)
    }
}

/// In a file a tally is `{"sum": …, "count": …}` (a stopped epoch's partial loss).
#[derive(Serialize, Deserialize)]
struct TallyFile {
    sum: f64,
    count: u64,
}

impl Serialize for Tally {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let sum = self.sum().map_err(serde::ser::Error::custom)?;
        TallyFile {
            sum,
            count: self.count,
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Tally {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let file = TallyFile::deserialize(d)?;
        Ok(Tally::from_parts(file.sum, file.count))
    }
}

fn scalar(value: f64, device: Device) -> Result<Tensor> {
    Ok(Tensor::f_full(
        [] as [i64; 0],
        value,
        (Kind::Double, device),
    )?)
}
