//! A tally: a sum and the count behind it — the seed's `total_loss` and the samples it covers, or
//! correct answers and samples. Every epoch metric is one (train loss, eval loss, accuracy), so
//! the seed's formula is written once, here, and so is the reduction across processes.
//!
//! The count is what each batch's mean is over: its samples (the seed's batch size), or, for a
//! criterion whose mean is over its non-ignored targets or their class weights, that number or
//! weight sum (a float64; see `criterion::counts`). The samples seen are kept apart, so that a
//! dropped batch is still caught.
//!
//! The sum lives on the host (`--loss-sync batch`: each batch mean is read, the seed's
//! `loss.item()`) or on the device (`--loss-sync epoch`: nothing is read until the end, so a CUDA
//! run is not synchronised once per batch). Both give the same bits: the float32 batch mean
//! widens to float64 exactly, its product with an integer count below 2^29 is exact in float64, and
//! the sums are taken in the same order with the same IEEE rounding (a fused multiply-add rounds
//! once, but the product is exact, so that is the same rounding). A count that is not such an
//! integer (a class-weight sum) is multiplied and added in two roundings, as on the host. The
//! counts themselves are known on the host before the epoch (from the targets), so a device tally
//! needs no device-side count.
mod file;
mod reduce;
mod sync;

pub use reduce::{Reduce, SingleProcess};
pub use sync::LossSync;

use tch::{Device, Kind, Tensor};

use crate::error::{Error, Result};

/// A running sum of per-sample (or per-element) values, the count behind it, and the samples seen.
#[derive(Debug)]
pub struct Tally {
    sum: Sum,
    count: f64,
    samples: u64,
}

#[derive(Debug)]
enum Sum {
    Host(f64),
    /// A float64 scalar on a device, and the last integer count as a float64 scalar there too
    /// (made once per count: one tensor operation per batch, `sum.addcmul_(mean, count)`).
    Device {
        sum: Tensor,
        count: (f64, Tensor),
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

/// A batch's samples and the count its mean is over. From a batch size alone (the seed's
/// formula) the count is that size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchCount {
    pub samples: i64,
    pub count: f64,
}

impl From<i64> for BatchCount {
    fn from(batch_size: i64) -> BatchCount {
        BatchCount {
            samples: batch_size,
            count: batch_size as f64,
        }
    }
}

/// Integers up to here times a float32 mean are exact in float64.
const EXACT_COUNT: f64 = (1u64 << 29) as f64;

impl Default for Tally {
    fn default() -> Self {
        Tally::new()
    }
}

impl Tally {
    /// An empty tally on the host.
    pub fn new() -> Tally {
        Tally::from_parts(0.0, 0.0, 0)
    }

    /// An empty tally for batches computed on `device`: on the host, or there for `Epoch`.
    pub fn for_sync(sync: LossSync, device: Device) -> Result<Tally> {
        Tally::new().placed(sync, device)
    }

    /// This tally where `sync` keeps it (a stopped epoch's host sum goes on on the device).
    pub fn placed(self, sync: LossSync, device: Device) -> Result<Tally> {
        let sum = match (sync, self.sum) {
            (LossSync::Epoch, Sum::Host(sum)) => Sum::Device {
                sum: scalar(sum, device)?,
                count: (0.0, scalar(0.0, device)?),
            },
            (_, sum) => sum,
        };
        Ok(Tally { sum, ..self })
    }

    /// The batch mean as this tally keeps it: `loss.item()` (a device read) or the tensor itself.
    #[inline]
    pub fn read<'a>(&self, batch_mean: &'a Tensor) -> Result<BatchMean<'a>> {
        Ok(match self.sum {
            Sum::Host(_) => BatchMean::Read(batch_mean.f_double_value(&[])?),
            Sum::Device { .. } => BatchMean::OnDevice(batch_mean),
        })
    }

    /// The seed's formula: `total_loss += batch_mean * batch_size`, with the count the mean is
    /// over in place of the batch size.
    #[inline]
    pub fn add(&mut self, batch_mean: BatchMean, batch: impl Into<BatchCount>) -> Result<()> {
        let batch = batch.into();
        let n = batch.count;
        match (&mut self.sum, batch_mean) {
            (Sum::Host(sum), BatchMean::Read(mean)) => *sum += mean * n,
            (Sum::Host(sum), BatchMean::OnDevice(t)) => *sum += t.f_double_value(&[])? * n,
            (Sum::Device { sum, count }, BatchMean::OnDevice(t)) => {
                if n.fract() == 0.0 && n.abs() < EXACT_COUNT {
                    if count.0 != n {
                        *count = (n, scalar(n, sum.device())?);
                    }
                    let _ = tch::no_grad(|| sum.f_addcmul_(t, &count.1))?;
                } else {
                    // Two roundings, as `mean * n` then `+=` on the host.
                    let product = tch::no_grad(|| t.f_to_kind(Kind::Double)?.f_mul_scalar(n))?;
                    let _ = sum.f_add_(&product)?;
                }
            }
            (Sum::Device { sum, .. }, BatchMean::Read(mean)) => {
                let _ = sum.f_add_scalar_(mean * n)?;
            }
        }
        self.count += n;
        self.samples += batch.samples.max(0) as u64;
        Ok(())
    }

    /// Samples seen that add nothing: a batch whose every target is ignored (PyTorch's mean of
    /// it is NaN, 0/0).
    pub fn add_uncounted(&mut self, samples: i64) {
        self.samples += samples.max(0) as u64;
    }

    /// Adds a batch's *sum* (an integer or float scalar tensor, e.g. its correct answers) over
    /// `batch`'s count.
    pub fn add_sum(&mut self, batch_sum: &Tensor, batch: impl Into<BatchCount>) -> Result<()> {
        let batch = batch.into();
        match &mut self.sum {
            Sum::Host(sum) => *sum += batch_sum.f_double_value(&[])?,
            Sum::Device { sum, .. } => {
                let _ = tch::no_grad(|| sum.f_add_(batch_sum))?;
            }
        }
        self.count += batch.count;
        self.samples += batch.samples.max(0) as u64;
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
        self.samples += other.samples;
        Ok(())
    }

    /// Sums this tally over the processes of a run (nothing to do, and no device read, for one).
    pub fn reduce(&mut self, processes: &dyn Reduce) -> Result<()> {
        if processes.world_size() == 1 {
            return Ok(());
        }
        let mut values = [self.sum()?, self.count, self.samples as f64];
        processes.sum_f64(&mut values)?;
        *self = Tally::from_parts(values[0], values[1], values[2] as u64);
        Ok(())
    }

    /// A host tally of `sum` over `count`, from `samples` samples.
    pub fn from_parts(sum: f64, count: f64, samples: u64) -> Tally {
        Tally {
            sum: Sum::Host(sum),
            count,
            samples,
        }
    }

    /// What the sum is over: samples, or the elements or class weights the means were over.
    pub fn count(&self) -> f64 {
        self.count
    }

    /// Samples seen (no device read).
    pub fn samples(&self) -> u64 {
        self.samples
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
        Ok(Tally::from_parts(self.sum()?, self.count, self.samples))
    }

    /// The running mean, `None` before any count or when the device cannot be read.
    pub fn mean(&self) -> Option<f64> {
        let sum = self.sum().ok()?;
        (self.count > 0.0).then(|| sum / self.count)
    }

    /// `sum / count` (accuracy: correct / targets), `None` before any count.
    pub fn ratio(&self) -> Result<Option<f64>> {
        let sum = self.sum()?;
        Ok((self.count > 0.0).then(|| sum / self.count))
    }

    /// `total_loss / count` — the seed's `/ len(dataset)` when the count is the samples — after
    /// checking that every sample of the dataset was seen exactly once: a dropped short batch
    /// would otherwise give a silently wrong average.
    pub fn average_over(&self, dataset_len: usize, phase: &'static str) -> Result<f64> {
        if self.samples != dataset_len as u64 || dataset_len == 0 {
            return Err(Error::SampleCount {
                phase,
                seen: self.samples,
                expected: dataset_len as u64,
            });
        }
        if self.count <= 0.0 {
            return Err(Error::Data(format!(
                "{phase}: every target was ignored or has class weight 0; the loss has no mean"
            )));
        }
        Ok(self.sum()? / self.count)
    }
}

impl Clone for Tally {
    /// A copy that shares nothing with the original (a device sum is copied).
    fn clone(&self) -> Tally {
        let sum = match &self.sum {
            Sum::Host(sum) => Sum::Host(*sum),
            Sum::Device { sum, count } => Sum::Device {
                sum: sum.copy(),
                count: (count.0, count.1.copy()),
            },
        };
        Tally { sum, ..*self }
    }
}

impl PartialEq for Tally {
    fn eq(&self, other: &Tally) -> bool {
        self.count.to_bits() == other.count.to_bits()
            && self.samples == other.samples
            && matches!((self.sum(), other.sum()), (Ok(a), Ok(b)) if a == b)
    }
}

fn scalar(value: f64, device: Device) -> Result<Tensor> {
    Ok(Tensor::f_full(
        [] as [i64; 0],
        value,
        (Kind::Double, device),
    )?)
}
