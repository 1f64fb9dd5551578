//! `trace.jsonl`: a run's optimizer steps, one JSON line each, so that two runs can be walked
//! side by side to the first step and tensor where they part (`compare::first_divergence`).
//!
//! Line 1 is step 0, the initial state: `{"step": 0, "values": [fingerprint, ...]}` with dtype
//! and shape. Then, after each optimizer step (each accumulation window):
//! `{"step", "epoch", "batch", "losses", "samples", "order", "grads", "values"}` — the batch
//! losses of the window as the loop read them, the number of samples and a hash of their indices
//! (int64 little-endian) into the training split, the gradients the optimizer received (after
//! clipping) in model order, and the values after the update (parameters, then buffers). A
//! fingerprint is `{"name", "sha", "norm", "sum", "max_abs"}` (see [`Fingerprint`]); a value
//! that is not finite is written as the string `"nan"`, `"inf"` or `"-inf"`. scripts/trace.py
//! writes the same file from a PyTorch loop.
mod fingerprint;
mod line;
mod step_trace;

pub(crate) use fingerprint::number_or_text;
pub use fingerprint::{fingerprint, hash_bytes, tensor_bytes, Fingerprint};
pub use line::{read_trace, TraceLine};
pub(crate) use step_trace::StepTrace;

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use tch::{Kind, Tensor};

use crate::error::{Error, Result};

/// A run folder's trace file.
pub const TRACE_FILE: &str = "trace.jsonl";

/// Writes a trace, one line per call; for a hand-written tch loop as for the harness's own.
pub struct Tracer {
    path: PathBuf,
    out: BufWriter<File>,
    steps: u64,
}

impl Tracer {
    /// A new, empty trace at `path` (replacing one that is there).
    pub fn create(path: &Path) -> Result<Tracer> {
        let file = File::create(path).map_err(|e| Error::file(path, e))?;
        Ok(Tracer {
            path: path.to_path_buf(),
            out: BufWriter::new(file),
            steps: 0,
        })
    }

    /// Continues the trace at `path` after its lines that `keep` keeps (a resumed run's steps up
    /// to its checkpoint); a torn last line is dropped.
    pub(crate) fn continue_after(path: &Path, keep: impl Fn(&TraceLine) -> bool) -> Result<Tracer> {
        let kept: Vec<TraceLine> = line::read_lenient(path)?
            .into_iter()
            .take_while(|l| keep(l))
            .collect();
        let mut tracer = Tracer::create(path)?;
        for l in &kept {
            tracer.write(l)?;
        }
        tracer.steps = kept.last().map_or(0, |l| l.step);
        Ok(tracer)
    }

    /// Step 0: the initial state (`model.state_dict()`), with dtypes and shapes.
    pub fn start(&mut self, state: &[(String, Tensor)]) -> Result<()> {
        let values = state
            .iter()
            .map(|(name, t)| fingerprint(name, t, true))
            .collect::<Result<_>>()?;
        self.write(&TraceLine {
            values,
            ..TraceLine::default()
        })
    }

    /// One optimizer step, right after `optimizer.step()`: `params` in model order (their
    /// `.grad()` is what the optimizer received; buffers may follow, they have no gradient), the
    /// step's batch `losses`, the `indices` of its samples, and where it is (1-based `epoch`, and
    /// `batch`: its last batch in the epoch).
    pub fn step(
        &mut self,
        params: &[(String, Tensor)],
        losses: &[f64],
        indices: &Tensor,
        epoch: usize,
        batch: usize,
    ) -> Result<()> {
        self.steps += 1;
        let mut grads = Vec::with_capacity(params.len());
        for (name, t) in params {
            let grad = t.grad();
            if grad.defined() {
                grads.push(fingerprint(name, &grad, false)?);
            }
        }
        let values = params
            .iter()
            .map(|(name, t)| fingerprint(name, t, false))
            .collect::<Result<_>>()?;
        let indices = indices.f_to_kind(Kind::Int64)?;
        self.write(&TraceLine {
            step: self.steps,
            epoch: Some(epoch),
            batch: Some(batch),
            losses: losses.to_vec(),
            samples: Some(indices.numel() as u64),
            order: Some(hash_bytes(&tensor_bytes(&indices)?)),
            grads,
            values,
        })
    }

    /// Writes out what is buffered and closes the file.
    pub fn finish(mut self) -> Result<()> {
        self.out.flush().map_err(|e| Error::file(&self.path, e))
    }

    /// One line, flushed at once: a checkpoint written after it never points past the trace.
    fn write(&mut self, line: &TraceLine) -> Result<()> {
        let text = serde_json::to_string(line).map_err(|e| Error::file(&self.path, e))?;
        writeln!(self.out, "{text}")
            .and_then(|_| self.out.flush())
            .map_err(|e| Error::file(&self.path, e))
    }
}
