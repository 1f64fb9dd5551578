//! The gradient all-reduce of data-parallel training: at the end of each accumulation window
//! (each batch without `--accumulate`, as DDP's `no_sync` windows), every rank's gradients are
//! summed in DDP's buckets (`buckets`), each one launched while backward runs, as soon as its
//! gradients and those of the buckets before it are ready. Each rank's loss was scaled by its share
//! of the window's count before backward (see `train::plan`), so the sum is the gradient of the
//! window's mean over every rank's samples: one process's gradient, the short last batch
//! included. A hook of the step (`train::hook`), before every other one after backward. Riding
//! along in the last bucket: which parameters each rank has a gradient for, rank 0's buffers, and
//! the ranks' window tallies (batches trained, counts skipped, non-finite losses, stop requests),
//! so that every rank takes the same decisions from them.
use std::rc::Rc;

use tch::{Kind, Tensor};

use super::buckets::GradBuckets;
use super::group::ProcessGroup;
use super::step_times::StepTimes;
use crate::error::{Error, Result};
use crate::interrupt::StopFlag;
use crate::train::{Decision, EpochDone, Grads, PlannedBatch, Slot, StepHook, Window};

/// A window as one rank saw it, or (after the all-reduce) as all did.
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
    buckets: GradBuckets,
    stop: StopFlag,
    /// `--on-nonfinite stop`: a NaN or infinite loss on any rank ends the run on every rank.
    stop_on_nonfinite: bool,
    /// Whether every rank has agreed to stop (set at a window's end).
    stopping: bool,
    /// Tensors that are not trained but change (batch norm's running statistics): rank 0's for
    /// everyone at each window's end, as DDP's `broadcast_buffers`, in the last bucket (integer
    /// counts ride in float32, exact below 2^24).
    buffers: Vec<Tensor>,
    /// The buckets were armed for this window's last backward pass.
    armed: bool,
    times: StepTimes,
    /// A parameter of the last bucket: the dtype and device of its tail.
    tail_like: Tensor,
    /// This epoch's buckets, and those of them launched while backward ran.
    buckets_reduced: u64,
    buckets_in_backward: u64,
}

impl GradSync {
    /// Syncs `params`' gradients over `group` in buckets of DDP's assignment with these caps (see
    /// `buckets::bucket_assignment`); `stop` is this rank's own stop request.
    pub fn new(
        group: Rc<ProcessGroup>,
        params: &[(String, Tensor)],
        (first_bytes, cap_bytes): (usize, usize),
        stop: StopFlag,
        stop_on_nonfinite: bool,
    ) -> Result<Self> {
        let layout = super::buckets::bucket_assignment(params, first_bytes, cap_bytes);
        let last = layout.last().ok_or_else(|| {
            Error::Distributed("data-parallel training needs a model with parameters".into())
        })?;
        let tail_like = params[last[0]].1.shallow_clone();
        Ok(GradSync {
            tail_like,
            buckets: GradBuckets::new(&group, params, layout)?,
            group,
            stop,
            stop_on_nonfinite,
            stopping: false,
            buffers: Vec::new(),
            armed: false,
            times: StepTimes::default(),
            buckets_reduced: 0,
            buckets_in_backward: 0,
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

    /// What rides in the last bucket after the flags: rank 0's buffers (the others' zeros: their
    /// sum is rank 0's, x + 0 being exact) and this rank's tally.
    fn tail(&self, mut local: WindowTally, like: &Tensor) -> Result<Tensor> {
        local.stop = f64::from(u8::from(self.stop.requested()));
        let mut tail = Vec::with_capacity(self.buffers.len() + 1);
        for buffer in &self.buffers {
            let values = buffer.f_flatten(0, -1)?.f_to_kind(like.kind())?;
            tail.push(match self.group.rank {
                0 => values.f_to_device(like.device())?,
                _ => values.f_zeros_like()?.f_to_device(like.device())?,
            });
        }
        let tally = [local.trained, local.skipped, local.nonfinite, local.stop];
        tail.push(
            Tensor::from_slice(&tally)
                .f_to_kind(like.kind())?
                .f_to_device(like.device())?,
        );
        Ok(Tensor::f_cat(&tail, 0)?)
    }

    /// Waits for every bucket (launching those backward left) and puts the sums into the
    /// gradients and buffers; returns the summed tally.
    fn reduce(&mut self, params: &[(String, Tensor)], tail: Option<Tensor>) -> Result<WindowTally> {
        let (flats, early) = self.buckets.finish(tail.as_ref())?;
        self.buckets_reduced += flats.len() as u64;
        self.buckets_in_backward += early as u64;
        let last = flats.len() - 1;
        let mut total = WindowTally::default();
        // Whether any rank has each parameter's gradient: the flags after the last bucket's.
        let anyone = Vec::<f64>::try_from(
            flats[last]
                .f_narrow(0, self.grads_len(params, last), params.len() as i64)?
                .f_to_kind(Kind::Double)?,
        )?;
        for (b, (flat, bucket)) in flats.iter().zip(&self.buckets.layout).enumerate() {
            let mut offset = 0;
            for &i in bucket {
                let p = &params[i].1;
                let n = p.numel() as i64;
                // A gradient no rank has stays None, as in one process, where the optimizer then
                // skips the parameter.
                if anyone[i] > 0.0 {
                    let grad = match p.grad() {
                        g if g.defined() => g,
                        _ => zero_grad_of(p)?,
                    };
                    let summed = flat.f_narrow(0, offset, n)?.f_view_as(&grad)?;
                    tch::no_grad(|| grad.shallow_clone().f_copy_(&summed))?;
                }
                offset += n;
            }
            if b == last {
                offset += params.len() as i64;
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

    fn grads_len(&self, params: &[(String, Tensor)], bucket: usize) -> i64 {
        self.buckets.layout[bucket]
            .iter()
            .map(|&i| params[i].1.numel() as i64)
            .sum()
    }
}

impl StepHook for GradSync {
    fn slot(&self) -> Slot {
        Slot::GradSync
    }

    fn begin_batch(&mut self, batch: &PlannedBatch) -> Result<()> {
        if batch.starts_window {
            self.times.window_started();
        }
        Ok(())
    }

    /// Arms the buckets for the window's last backward pass, the tally known already.
    fn before_backward(&mut self, batch: &PlannedBatch, window: &Window) -> Result<()> {
        if !batch.ends_window || batch.window_count == 0.0 {
            return Ok(());
        }
        let local = WindowTally {
            trained: (window.trained + 1) as f64, // this batch, about to be trained on
            skipped: window.skipped,
            nonfinite: window.nonfinite as f64,
            stop: 0.0,
        };
        let tail = self.tail(local, &self.tail_like)?;
        self.buckets.arm(&tail)?;
        self.armed = true;
        Ok(())
    }

    /// Sums the gradients and the window's tally (every rank's now) over the ranks.
    fn after_backward(&mut self, grads: &mut Grads) -> Result<Decision> {
        if grads.batch.window_count == 0.0 {
            return Ok(Decision::Skip); // every target of the whole window ignored: no rank steps
        }
        self.times.sync_started();
        let window = &mut grads.window;
        let tail = match std::mem::take(&mut self.armed) {
            true => None,
            false => {
                // The window's last batch was left out: no backward pass armed the buckets.
                let local = WindowTally {
                    trained: window.trained as f64,
                    skipped: window.skipped,
                    nonfinite: window.nonfinite as f64,
                    stop: 0.0,
                };
                Some(self.tail(local, &self.tail_like)?)
            }
        };
        let all = self.reduce(grads.params, tail)?;
        self.times.sync_done();
        (window.trained, window.skipped) = (all.trained as u64, all.skipped);
        Ok(Decision::Step)
    }

    fn end_epoch(&mut self, done: &mut EpochDone) -> Result<()> {
        let (step_ms, sync_ms) = self.times.take_epoch(&self.group)?;
        done.metrics.rank_step_ms = Some(step_ms);
        done.metrics.rank_sync_ms = Some(sync_ms);
        done.metrics.grad_buckets = Some(std::mem::take(&mut self.buckets_reduced));
        done.metrics.grad_buckets_in_backward = Some(std::mem::take(&mut self.buckets_in_backward));
        Ok(())
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
