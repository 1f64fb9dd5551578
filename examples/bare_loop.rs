//! The floor the harness is measured against (scripts/bench.sh): the same model, data, batches
//! and optimizer as `tch-harness train`, trained by a bare tch loop — no loss read-back, no
//! accounting, no evaluation, no progress, no files. One JSON line per epoch on stdout:
//! `{"epoch": e, "train_samples": n, "train_seconds": s}`, timed over the same span as the
//! harness's `train_seconds` (sample order, gather, every step; on CUDA, up to a synchronisation).
//!
//! `--read-loss true` adds the seed loop's two reads per batch, `inputs.size()[0]` and
//! `loss.item()`, summed into `total_loss` (the part of the harness's work the bare loop otherwise
//! leaves out; docs/performance.md measures what they cost).
//!
//!     cargo build --release --examples
//!     target/release/examples/bare_loop --experiment digits-mlp --epochs 50 --threads 1 --device cpu
use std::time::Instant;

use tch::data::Iter2;
use tch::{Cuda, Device, Tensor};
use tch_harness::data::epoch_order;
use tch_harness::{
    optimizer, Builtin, Criterion, DeviceSpec, Experiment, LossOptions, Optimizer, OptimizerConfig,
    OptimizerKind,
};

pub struct Args {
    pub experiment: Builtin,
    pub epochs: usize,
    pub threads: Option<i32>,
    pub device: DeviceSpec,
    pub batch_size: i64,
    pub lr: f64,
    pub seed: u64,
    /// Read each batch's size and loss as the seed loop does.
    pub read_loss: bool,
}

pub fn parse_args(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut args = Args {
        experiment: Builtin::DigitsMlp,
        epochs: 10,
        threads: None,
        device: DeviceSpec::Cpu,
        batch_size: 64,
        lr: 0.05,
        seed: 0,
        read_loss: false,
    };
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag} needs a value"))?;
        let bad = |e: &dyn std::fmt::Display| format!("{flag} {value}: {e}");
        match flag.as_str() {
            "--experiment" => args.experiment = value.parse().map_err(|e| bad(&e))?,
            "--epochs" => args.epochs = value.parse().map_err(|e| bad(&e))?,
            "--threads" => args.threads = Some(value.parse().map_err(|e| bad(&e))?),
            "--device" => {
                let spec: DeviceSpec = value.parse().map_err(|e| bad(&e))?;
                spec.resolve().map_err(|e| bad(&e))?; // refused here, not after the first run
                args.device = spec;
            }
            "--batch-size" => args.batch_size = value.parse().map_err(|e| bad(&e))?,
            "--lr" => args.lr = value.parse().map_err(|e| bad(&e))?,
            "--seed" => args.seed = value.parse().map_err(|e| bad(&e))?,
            "--read-loss" => args.read_loss = value.parse().map_err(|e| bad(&e))?,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    Ok(args)
}

/// One epoch over the split in `order`: the part the harness does in `train_epoch` (a separate
/// function so that a profiler can be pointed at it: `valgrind --tool=callgrind
/// --toggle-collect='*train_one_epoch*'`).
#[inline(never)]
fn train_one_epoch(
    experiment: &Experiment,
    opt: &mut dyn Optimizer,
    order: &Tensor,
    batch_size: i64,
    read_loss: bool,
) -> Result<(), Box<dyn std::error::Error>> {
    let train = &experiment.data.train;
    let options = LossOptions::default();
    let criterion = Criterion::new(&experiment.loss, &options, None, train.inputs.device())?;
    let order = order.to_device(train.inputs.device());
    let xs = train.inputs.index_select(0, &order);
    let ys = train.targets.index_select(0, &order);
    let mut batches = Iter2::new(&xs, &ys, batch_size);
    batches
        .return_smaller_last_batch()
        .to_device(train.inputs.device());
    let mut total_loss = 0.0;
    for (inputs, targets) in batches {
        opt.zero_grad()?;
        let outputs = experiment.model.forward_t(&inputs, true)?;
        let loss = criterion.compute(&outputs, &targets)?;
        if read_loss {
            let batch_size = inputs.size()[0];
            total_loss += loss.double_value(&[]) * batch_size as f64;
        }
        loss.backward();
        opt.step()?;
    }
    std::hint::black_box(total_loss); // read, never used: the reads are what is timed
    Ok(())
}

/// Trains `args.epochs` epochs of the bare loop, handing each epoch's number, sample count and
/// training time to `on_epoch`.
pub fn train_bare(
    args: &Args,
    mut on_epoch: impl FnMut(usize, usize, f64),
) -> Result<(), Box<dyn std::error::Error>> {
    let device = args.device.resolve()?;
    let experiment = args.experiment.build(args.seed, device)?;
    let config = OptimizerConfig::new(OptimizerKind::Sgd, args.lr);
    let mut opt = optimizer(&config, experiment.parameters())?;
    let n = experiment.data.train.len();
    for epoch in 1..=args.epochs {
        let started = Instant::now();
        let order = epoch_order(n, args.seed, epoch);
        train_one_epoch(
            &experiment,
            opt.as_mut(),
            &order,
            args.batch_size,
            args.read_loss,
        )?;
        if let Device::Cuda(index) = device {
            Cuda::synchronize(index as i64);
        }
        on_epoch(epoch, n, started.elapsed().as_secs_f64());
    }
    Ok(())
}

#[allow(dead_code)] // examples/in_process_overhead.rs includes this file and calls `train_bare`
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = parse_args(std::env::args().skip(1))?;
    // The harness's allocator settings, so that the overhead compares loops, not allocators.
    tch_harness::allocator::keep_freed_memory();
    if let Some(n) = args.threads {
        tch::set_num_threads(n);
    }
    train_bare(&args, |epoch, n, seconds| {
        println!("{{\"epoch\": {epoch}, \"train_samples\": {n}, \"train_seconds\": {seconds}}}")
    })
}
