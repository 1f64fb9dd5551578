//! The gradient all-reduce of data-parallel training: at the end of each accumulation window
//! (each batch without `--accumulate`, as DDP's `no_sync` windows), every rank's gradients are
//! summed in flat buckets, one collective per bucket. Each rank's loss was scaled by its share of
//! the window's count before backward (see `train::plan`), so the sum is the gradient of the
//! window's mean over every rank's samples: one process's gradient, the short last batch
//! included. A hook of the step (`train::hook`), before every other one after backward. Riding along in the last bucket, the ranks' window tallies (batches trained, counts
//! skipped, non-finite losses, stop requests): every rank takes the same decisions from them.
use std::rc::Rc;

use tch::{Kind, Tensor};

use super::group::{ProcessGroup, ReduceOp};
use crate::error::{Error, Result};
use crate::interrupt::StopFlag;
use crate::train::{Decision, Grads, Slot, StepHook};

/// At most this many bytes of gradient per collective (DDP's default bucket_cap_mb = 25).
const BUCKET_BYTES: usize = 25 << 20;

/// A window as one rank saw it, or (after [`GradSync::reduce`]) as all did.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WindowTally {
    /// Batches (shards) trained on.
    pub trained: f64,
    /// The counts of shards left out for a non-finite loss.
    pub skipped: f64,
    /// Shards whose loss was NaN or infinite.
    pub nonfinite: f64,
    /// Ranks asked to stop (Ctrl-C, SIGTERM).
    pub stop: f64,
}

/// Sums the gradients of a window over the ranks.
pub struct GradSync {
    group: Rc<ProcessGroup>,
    /// Parameter index ranges, each one collective.
    buckets: Vec<std::ops::Range<usize>>,
    stop: StopFlag,
    /// `--on-nonfinite stop`: a NaN or infinite loss on any rank ends the run on every rank.
    stop_on_nonfinite: bool,
    /// Whether every rank has agreed to stop (set at a window's end).
    stopping: bool,
    /// Tensors that are not trained but change (batch norm's running statistics): rank 0's for
    /// everyone at each window's end, as DDP's `broadcast_buffers`, in the last bucket (integer
    /// counts ride in float32, exact below 2^24).
    buffers: Vec<Tensor>,
}

impl GradSync {
    /// Syncs `params`' gradients over `group`; `stop` is this rank's own stop request.
    pub fn new(
        group: Rc<ProcessGroup>,
        params: &[(String, Tensor)],
        stop: StopFlag,
        stop_on_nonfinite: bool,
    ) -> Result<Self> {
        Ok(GradSync {
            buckets: buckets(params),
            group,
            stop,
            stop_on_nonfinite,
            stopping: false,
            buffers: Vec::new(),
        })
    }

    /// Also gives every rank rank 0's `buffers` at each window's end.
    pub fn with_buffers(mut self, buffers: Vec<Tensor>) -> GradSync {
        self.buffers = buffers;
        self
    }

    /// Whether all ranks agreed to stop at the last window's end.
    pub fn stopping(&self) -> bool {
        self.stopping
    }

    /// Sums the window's gradients and `local` over the ranks; returns the summed tally.
    pub fn reduce(
        &mut self,
        params: &[(String, Tensor)],
        mut local: WindowTally,
    ) -> Result<WindowTally> {
        local.stop = f64::from(u8::from(self.stop.requested()));
        let mut total = local;
        let last = self.buckets.len() - 1;
        for (b, bucket) in self.buckets.iter().enumerate() {
            let params = &params[bucket.clone()];
            let grads: Vec<Tensor> = params.iter().map(|(_, p)| p.grad()).collect();
            let (kind, device) = (params[0].1.kind(), params[0].1.device());
            // A rank without a parameter's gradient (no rows in the window, or the parameter
            // unused) sends zeros and says so: a gradient no rank has stays None, as in one
            // process, where the optimizer then skips the parameter.
            let mut flat = Vec::with_capacity(params.len() + self.buffers.len() + 2);
            for ((_, p), g) in params.iter().zip(&grads) {
                flat.push(match g.defined() {
                    true => g.f_flatten(0, -1)?,
                    false => Tensor::f_zeros([p.numel() as i64], (kind, device))?,
                });
            }
            let defined: Vec<f64> = grads
                .iter()
                .map(|g| f64::from(u8::from(g.defined())))
                .collect();
            flat.push(Tensor::from_slice(&defined).to_kind(kind).to_device(device));
            if b == last {
                // Rank 0's buffers, the others' zeros: their sum is rank 0's (x + 0 is exact).
                for buffer in &self.buffers {
                    let values = buffer
                        .f_flatten(0, -1)?
                        .f_to_kind(kind)?
                        .f_to_device(device)?;
                    flat.push(if self.group.rank == 0 {
                        values
                    } else {
                        values.f_zeros_like()?
                    });
                }
                let tally = [local.trained, local.skipped, local.nonfinite, local.stop];
                flat.push(Tensor::from_slice(&tally).to_kind(kind).to_device(device));
            }
            let flat = Tensor::f_cat(&flat, 0)?;
            self.group.all_reduce(&flat, ReduceOp::Sum)?;
            let total_params: i64 = params.iter().map(|(_, p)| p.numel() as i64).sum();
            let anyone = Vec::<f64>::try_from(
                flat.f_narrow(0, total_params, params.len() as i64)?
                    .f_to_kind(Kind::Double)?,
            )?;
            let mut offset = 0;
            for (((_, p), grad), anyone) in params.iter().zip(&grads).zip(anyone) {
                let n = p.numel() as i64;
                if anyone > 0.0 {
                    let grad = match grad.defined() {
                        true => grad.shallow_clone(),
                        false => zero_grad_of(p)?,
                    };
                    let summed = flat.f_narrow(0, offset, n)?.f_view_as(&grad)?;
                    tch::no_grad(|| grad.shallow_clone().f_copy_(&summed))?;
                }
                offset += n;
            }
            offset += params.len() as i64;
            if b == last {
                for buffer in &self.buffers {
                    let n = buffer.numel() as i64;
                    let values = flat.f_narrow(0, offset, n)?.f_view_as(buffer)?;
                    tch::no_grad(|| buffer.shallow_clone().f_copy_(&values))?;
                    offset += n;
                }
                let tally =
                    Vec::<f64>::try_from(flat.f_narrow(0, offset, 4)?.f_to_kind(Kind::Double)?)?;
                total = WindowTally {
                    trained: tally[0],
                    skipped: tally[1],
                    nonfinite: tally[2],
                    stop: tally[3],
                };
            }
        }
        self.stopping = total.stop > 0.0;
        if total.nonfinite > 0.0 && self.stop_on_nonfinite {
            // Decided on the summed tally, so every rank ends here, at the same step.
            return Err(Error::NonFinite(format!(
                "the loss was NaN or infinite in {} of this step's {} shards (no update was made from it); use --on-nonfinite skip-batch to go on",
                total.nonfinite,
                total.nonfinite + total.trained
            )));
        }
        Ok(total)
    }
}

impl StepHook for GradSync {
    fn slot(&self) -> Slot {
        Slot::GradSync
    }

    /// Sums the gradients and the window's tally (every rank's now) over the ranks.
    fn after_backward(&mut self, grads: &mut Grads) -> Result<Decision> {
        if grads.batch.window_count == 0.0 {
            return Ok(Decision::Skip); // every target of the whole window ignored: no rank steps
        }
        let window = &mut grads.window;
        let local = WindowTally {
            trained: window.trained as f64,
            skipped: window.skipped,
            nonfinite: window.nonfinite as f64,
            stop: 0.0,
        };
        let all = self.reduce(grads.params, local)?; // one collective per bucket
        (window.trained, window.skipped) = (all.trained as u64, all.skipped);
        Ok(Decision::Step)
    }

    fn agreed_stop(&self) -> Option<bool> {
        Some(self.stopping)
    }
}

/// A zero gradient for `p`, which had none (a backward pass through `p * 0` creates it).
fn zero_grad_of(p: &Tensor) -> Result<Tensor> {
    p.f_mul_scalar(0.0)?.f_sum(p.kind())?.f_backward()?;
    Ok(p.grad())
}

/// Consecutive parameters of one dtype and device, up to `BUCKET_BYTES` each.
fn buckets(params: &[(String, Tensor)]) -> Vec<std::ops::Range<usize>> {
    let mut buckets = Vec::new();
    let (mut start, mut bytes) = (0, 0);
    for (i, (_, p)) in params.iter().enumerate() {
        let size = p.numel() * p.kind().elt_size_in_bytes();
        let same = i == start
            || (p.kind() == params[start].1.kind() && p.device() == params[start].1.device());
        if i > start && (!same || bytes + size > BUCKET_BYTES) {
            buckets.push(start..i);
            (start, bytes) = (i, 0);
        }
        bytes += size;
    }
    if start < params.len() {
        buckets.push(start..params.len());
    }
    buckets
}
