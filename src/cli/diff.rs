//! Flags of `diff`: two existing run directories, the tolerance, where the report goes.
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use tch_harness::compare::{self, PythonEnv, COMPARE_FILE, PLOT_FILE};

use super::compare::{verdict, CheckArgs};

/// Compare two existing runs' metrics.jsonl (say a Rust port's run and your own PyTorch run),
/// epoch by epoch, as `compare` does.
#[derive(Debug, Clone, Args)]
pub struct DiffArgs {
    /// The first run directory (the table's left side), holding metrics.jsonl.
    #[arg(value_name = "RUN_A")]
    pub run_a: PathBuf,
    /// The second run directory (the table's right side), holding metrics.jsonl.
    #[arg(value_name = "RUN_B")]
    pub run_b: PathBuf,
    /// Folder for compare.json and losses.png [default: RUN_A/diff-<name of RUN_B>]. Without a
    /// Python that can plot there is no losses.png, only a warning.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    #[command(flatten)]
    pub check: CheckArgs,
}

impl DiffArgs {
    /// `tch-harness diff`: exits non-zero when any value differs by more than the tolerance.
    pub fn run(&self) -> anyhow::Result<ExitCode> {
        // No Python or home costs only the plot.
        let python = PythonEnv::locate(self.check.python.as_deref(), None);
        let outcome = compare::diff(
            &self.run_a,
            &self.run_b,
            self.out.as_deref(),
            self.check.tolerance,
            python.as_ref().ok(),
        )
        .context("diff failed")?;
        println!("run A: {}", self.run_a.display());
        println!("run B: {}", self.run_b.display());
        println!("\n{}", compare::render_table(&outcome.comparison));
        if let Some(divergence) = &outcome.divergence {
            println!("{divergence}");
        }
        let compare_json = outcome.dir.join(COMPARE_FILE);
        match outcome.plot_error.as_ref().or(python.as_ref().err()) {
            None => println!(
                "wrote {} and {}",
                compare_json.display(),
                outcome.dir.join(PLOT_FILE).display()
            ),
            Some(e) => {
                println!("wrote {}", compare_json.display());
                eprintln!("warning: no {PLOT_FILE}: {e}");
            }
        }
        verdict(&outcome.comparison)
    }
}
