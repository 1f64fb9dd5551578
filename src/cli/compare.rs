//! Flags of `compare`: `train`'s flags, the tolerance, and where the Python side lives.
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Args;
use tch_harness::compare::{self, PythonEnv, COMPARE_FILE, PLOT_FILE};
use tch_harness::progress;

use super::TrainArgs;

/// Train with the harness and with scripts/reference.py (PyTorch) on the same settings, and diff
/// their per-epoch losses.
#[derive(Debug, Clone, Args)]
pub struct CompareArgs {
    #[command(flatten)]
    pub train: TrainArgs,
    /// Largest relative difference allowed between the two runs' values (train loss, eval loss,
    /// eval accuracy), |a - b| / max(|a|, |b|).
    #[arg(long, default_value = "1e-6", allow_negative_numbers = true)]
    pub tolerance: f64,
    /// Python interpreter with PyTorch 2.11 [default: the checkout's .venv/bin/python].
    #[arg(long, value_name = "PATH")]
    pub python: Option<PathBuf>,
    /// The PyTorch reference script [default: the checkout's scripts/reference.py].
    #[arg(long, value_name = "PATH")]
    pub reference: Option<PathBuf>,
}

impl CompareArgs {
    /// `tch-harness compare`: exits non-zero when any value differs by more than the tolerance.
    pub fn run(&self) -> anyhow::Result<ExitCode> {
        let config = self.train.to_config()?;
        let defaults = PythonEnv::default();
        let python = PythonEnv {
            python: self.python.clone().unwrap_or(defaults.python),
            reference: self.reference.clone().unwrap_or(defaults.reference),
            plot: defaults.plot,
        };
        let mut progress = progress::for_stdout();
        let outcome = compare::compare(
            &config,
            self.train.out.as_deref(),
            &python,
            self.tolerance,
            progress.as_mut(),
        )
        .context("compare failed")?;
        println!("\n{}", compare::render_table(&outcome.comparison));
        println!(
            "wrote {} and {}",
            outcome.dir.join(COMPARE_FILE).display(),
            outcome.dir.join(PLOT_FILE).display()
        );
        let comparison = &outcome.comparison;
        if !comparison.passed() {
            bail!(
                "harness and reference differ: max relative difference {:e} exceeds the tolerance {:e}",
                comparison.max_rel_diff(),
                comparison.tolerance
            );
        }
        Ok(ExitCode::SUCCESS)
    }
}
