//! The harness's loop against the bare loop in one process: `rounds` times, a bare-loop run and a
//! `tch_harness::run::train` run of the same experiment, flags and epochs, in alternating order.
//! Both share the process — its address-space layout, allocator state and threads — so what is
//! left between them is the loop: its hooks, accounting, evaluation, records and checkpoints.
//! (scripts/bench.sh compares separate processes; there the layout of each process moves an
//! epoch's time by several per cent, see docs/performance.md.)
//!
//!     cargo build --release --examples
//!     target/release/examples/in_process_overhead --rounds 20 --epochs 30 --threads 1 --device cpu
//!
//! After a warm-up round, each round prints both programs' median training-epoch time (epochs
//! 2..E, the span of `train_seconds`); the last line, the median of the per-round ratios and
//! their quartiles.
//!
//! One process still draws its own placement of each loop's memory: its figure moves by about a
//! point from one process to the next. `--processes N` runs the measurement in N fresh processes,
//! one after another, prints each one's summary and then the median over them, the figure to
//! quote (docs/performance.md).
#[path = "bare_loop.rs"]
mod bare_loop;

use std::path::PathBuf;

use tch_harness::run::{self, Silent, StopFlag};
use tch_harness::{ExperimentSource, OptimizerConfig, OptimizerKind, TrainConfig};

/// The median (of an even count, the mean of the middle two); sorts `values`.
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    (values[(n - 1) / 2] + values[n / 2]) / 2.0
}

/// The median epoch time of one bare-loop run (its first epoch, a warm-up, left out).
fn bare(args: &bare_loop::Args) -> Result<f64, Box<dyn std::error::Error>> {
    let mut times = Vec::new();
    bare_loop::train_bare(args, |epoch, _, seconds| {
        if epoch > 1 {
            times.push(seconds);
        }
    })?;
    Ok(median(&mut times))
}

/// The median `train_seconds` of one harness run with the bare loop's settings (epoch 1 left out).
fn harness(args: &bare_loop::Args, out: PathBuf) -> Result<f64, Box<dyn std::error::Error>> {
    let optimizer = OptimizerConfig::new(OptimizerKind::Sgd, args.lr);
    let mut config = TrainConfig::builder(ExperimentSource::Builtin(args.experiment), optimizer)
        .epochs(args.epochs)
        .batch_size(args.batch_size)
        .seed(args.seed)
        .device(args.device);
    if let Some(threads) = args.threads {
        config = config.threads(threads);
    }
    let outcome = run::train(&config.build()?, Some(&out), &StopFlag::new(), &mut Silent);
    let _ = std::fs::remove_dir_all(&out);
    let mut times: Vec<f64> = outcome?.records[1..]
        .iter()
        .map(|r| r.train_seconds)
        .collect();
    Ok(median(&mut times))
}

/// Removes `--name VALUE` from `flags`; its value parsed, or `default` when absent.
fn take_count(flags: &mut Vec<String>, name: &str, default: usize) -> Result<usize, String> {
    let Some(at) = flags.iter().position(|f| f == name) else {
        return Ok(default);
    };
    let value = flags.get(at + 1).ok_or(format!("{name} needs a value"))?;
    let count = value.parse().map_err(|e| format!("{name} {value}: {e}"))?;
    flags.drain(at..at + 2);
    Ok(count)
}

/// The overhead in per cent from a summary line ("…: +2.1 % (median of …").
fn summary_percent(line: &str) -> Option<f64> {
    line.split(": ").nth(1)?.split(' ').next()?.parse().ok()
}

/// Runs this program with `flags` in `processes` fresh processes, one after another; prints each
/// one's summary and the median over them.
fn over_processes(flags: &[String], processes: usize) -> Result<(), Box<dyn std::error::Error>> {
    let mut percents = Vec::new();
    for k in 1..=processes {
        let out = std::process::Command::new(std::env::current_exe()?)
            .args(flags)
            .output()?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let summary = stdout.lines().last().unwrap_or_default();
        let percent = summary_percent(summary).filter(|_| out.status.success());
        let percent = percent.ok_or_else(|| {
            let stderr = String::from_utf8_lossy(&out.stderr);
            format!("process {k} of {processes} failed: {}", stderr.trim())
        })?;
        println!("process {k}/{processes}: {summary}");
        percents.push(percent);
    }
    let median_percent = median(&mut percents); // sorts them
    println!(
        "harness overhead over the bare loop, median over {processes} processes: {median_percent:+.1} % (range {:+.1} % .. {:+.1} %)",
        percents[0],
        percents[processes - 1]
    );
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut flags: Vec<String> = std::env::args().skip(1).collect();
    let processes = take_count(&mut flags, "--processes", 1)?;
    let child_flags = flags.clone();
    let rounds = take_count(&mut flags, "--rounds", 10)?;
    let args = bare_loop::parse_args(flags.into_iter())?;
    if args.epochs < 2 || rounds < 1 || processes < 1 {
        return Err(
            "needs --epochs 2 or more (epoch 1 is a warm-up), --rounds and --processes 1 or more"
                .into(),
        );
    }
    if processes > 1 {
        return over_processes(&child_flags, processes);
    }
    tch_harness::allocator::keep_freed_memory();
    if let Some(n) = args.threads {
        tch::set_num_threads(n);
    }
    let scratch = std::env::temp_dir().join(format!("in-process-overhead-{}", std::process::id()));
    let mut ratios = Vec::new();
    println!("round  bare ms  harness ms  harness / bare");
    // Round 0 warms both up (libtorch's first calls, the allocator's first growth): not counted.
    for round in 0..=rounds {
        let out = scratch.join(round.to_string());
        let (bare_s, harness_s) = if round % 2 == 0 {
            let b = bare(&args)?;
            (b, harness(&args, out)?)
        } else {
            let h = harness(&args, out)?;
            (bare(&args)?, h)
        };
        if round == 0 {
            continue;
        }
        ratios.push(harness_s / bare_s);
        println!(
            "{round:5}  {:7.3}  {:10.3}  {:.4}",
            bare_s * 1e3,
            harness_s * 1e3,
            harness_s / bare_s
        );
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let median_ratio = median(&mut ratios); // sorts them
    let quartile = |q: usize| ratios[(ratios.len() - 1) * q / 4];
    println!(
        "harness overhead over the bare loop, in one process: {:+.1} % (median of {rounds} rounds; quartiles {:+.1} % .. {:+.1} %)",
        (median_ratio - 1.0) * 100.0,
        (quartile(1) - 1.0) * 100.0,
        (quartile(3) - 1.0) * 100.0
    );
    Ok(())
}
