//! Flags of `compare`: `train`'s flags, the tolerance, and where the Python side lives.
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;
use tch_harness::compare::{self, Comparison, PythonEnv, COMPARE_FILE, PLOT_FILE};
use tch_harness::distributed::Backend;
use tch_harness::run;

use super::TrainArgs;

/// Train with the harness and with scripts/reference.py (PyTorch) on the same settings, and diff
/// their per-epoch losses.
#[derive(Debug, Clone, Args)]
pub struct CompareArgs {
    #[command(flatten)]
    pub train: TrainArgs,
    #[command(flatten)]
    pub check: CheckArgs,
    /// The PyTorch reference script [default: the project home's scripts/reference.py; the
    /// home is $TCH_HARNESS_HOME, else the folder of this binary or one above it, else the
    /// checkout it was built in].
    #[arg(long, value_name = "PATH")]
    pub reference: Option<PathBuf>,
    /// Both sides with N processes: `train --nproc N` against `reference.py --nproc N`
    /// (torch.distributed, Gloo), the same distributed arithmetic.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub nproc: usize,
    /// The harness's c10d backend: gloo or nccl [default: nccl on CUDA, gloo on the CPU]. Given
    /// with --nproc 1, the harness trains as a group of one on it. The reference uses Gloo.
    #[arg(long, value_name = "NAME")]
    pub backend: Option<String>,
}

/// The flags `compare` and `diff` share.
#[derive(Debug, Clone, Args)]
pub struct CheckArgs {
    /// Largest relative difference allowed between the two runs' values (train loss, eval loss,
    /// eval accuracy), |a - b| / max(|a|, |b|).
    #[arg(long, default_value = "1e-6", allow_negative_numbers = true)]
    pub tolerance: f64,
    /// Python interpreter: compare runs the reference with it (PyTorch 2.11); both draw
    /// losses.png with it (matplotlib). A bare name (python3) is looked up on PATH
    /// [default: the project home's .venv/bin/python].
    #[arg(long, value_name = "PYTHON")]
    pub python: Option<PathBuf>,
}

impl CompareArgs {
    /// `tch-harness compare`: exits non-zero when any value differs by more than the tolerance.
    pub fn run(&self, matches: &clap::ArgMatches) -> anyhow::Result<ExitCode> {
        // Deterministic unless told otherwise (--deterministic false, or the --config file's key).
        let mut train = self.train.clone();
        train.runtime.backends.deterministic.get_or_insert(true);
        let config = train.resolve(matches)?;
        let backend = self
            .backend
            .as_deref()
            .map(str::parse::<Backend>)
            .transpose()?;
        let python = PythonEnv::locate(self.check.python.as_deref(), self.reference.as_deref())?;
        if self.nproc == 0 {
            bail!("--nproc must be at least 1, got 0");
        }
        tch_harness::check_workload(
            self.nproc,
            config.runtime().threads().unwrap_or(1).max(1) as usize,
        )?;
        let mut progress = run::for_stdout();
        let outcome = compare::compare_job(
            &config,
            self.train.out.as_deref(),
            &python,
            self.check.tolerance,
            self.nproc,
            backend,
            progress.as_mut(),
        )
        .context("compare failed")?;
        println!("\n{}", compare::render_table(&outcome.comparison));
        if let Some(divergence) = &outcome.divergence {
            println!("{divergence}");
        }
        println!(
            "wrote {} and {}",
            outcome.dir.join(COMPARE_FILE).display(),
            outcome.dir.join(PLOT_FILE).display()
        );
        verdict(&outcome.comparison)
    }
}

/// Success within the tolerance; beyond it an error (exit status 1) naming both sides.
pub(super) fn verdict(comparison: &Comparison) -> anyhow::Result<ExitCode> {
    if !comparison.passed() {
        let labels = &comparison.labels;
        bail!(
            "{} and {} differ: max relative difference {:e} exceeds the tolerance {:e}",
            labels.harness,
            labels.reference,
            comparison.max_rel_diff(),
            comparison.tolerance
        );
    }
    Ok(ExitCode::SUCCESS)
}
