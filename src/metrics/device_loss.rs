//! The seed's accounting with the sum left on the device: each batch adds `batch_mean * batch_size`
//! in float64 where the loss was computed, and nothing is read back until asked. A CUDA run is then
//! not synchronised once per batch.
//!
//! The result is bit-identical to [`LossAccumulator`](super::LossAccumulator)'s: the float32 batch
//! mean widens to float64 exactly, its product with a batch size below 2^29 is exact in float64,
//! and the sums are taken in the same order with the same IEEE rounding (a fused multiply-add
//! rounds once, but the product is exact, so that is the same rounding).
//!
//! One tensor operation per batch: `sum.addcmul_(batch_mean, size)` with `size` a float64 scalar
//! made once per batch size, which promotes the float32 mean to float64 inside the kernel.
use tch::{Device, Kind, Tensor};

use super::LossAccumulator;
use crate::error::Result;

/// Running sum of per-sample losses, as a float64 scalar on a device, and the number of samples
/// behind it (counted on the host).
#[derive(Debug)]
pub struct DeviceLossAccumulator {
    sum: Tensor,
    count: u64,
    /// The last batch size, and the same as a float64 scalar on the device.
    size: (i64, Tensor),
}

impl DeviceLossAccumulator {
    /// An empty accumulator on `device`.
    pub fn new(device: Device) -> Result<Self> {
        Ok(DeviceLossAccumulator {
            sum: scalar(0.0, device)?,
            count: 0,
            size: (0, scalar(0.0, device)?),
        })
    }

    /// An accumulator on `device` that goes on from a host sum (a stopped epoch's).
    pub fn starting_from(device: Device, start: LossAccumulator) -> Result<Self> {
        Ok(DeviceLossAccumulator {
            sum: scalar(start.sum(), device)?,
            count: start.count(),
            size: (0, scalar(0.0, device)?),
        })
    }

    /// The device the sum lives on.
    pub fn device(&self) -> Device {
        self.sum.device()
    }

    /// Adds one batch: `batch_mean` is the criterion's (scalar) mean over `batch_size` samples.
    /// Nothing is recorded for autograd and nothing is read from the device.
    pub fn update(&mut self, batch_mean: &Tensor, batch_size: i64) -> Result<()> {
        let DeviceLossAccumulator { sum, count, size } = self;
        if size.0 != batch_size {
            *size = (batch_size, scalar(batch_size as f64, sum.device())?);
        }
        let _ = tch::no_grad(|| sum.f_addcmul_(batch_mean, &size.1))?;
        *count += batch_size.max(0) as u64;
        Ok(())
    }

    /// Number of samples seen (no device read).
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Reads the sum from the device (a synchronisation on CUDA) into a host accumulator.
    pub fn to_host(&self) -> Result<LossAccumulator> {
        let mut host = LossAccumulator::new();
        host.add_sum(self.sum.f_double_value(&[])?, self.count as i64);
        Ok(host)
    }

    /// `total_loss / len(dataset)` with [`LossAccumulator::average_over`]'s check; one device read.
    pub fn average_over(&self, dataset_len: usize, phase: &'static str) -> Result<f64> {
        self.to_host()?.average_over(dataset_len, phase)
    }
}

fn scalar(value: f64, device: Device) -> Result<Tensor> {
    Ok(Tensor::f_full(
        [] as [i64; 0],
        value,
        (Kind::Double, device),
    )?)
}
