//! `tch-harness train`: a new run from flags (over `--config`), or `--resume DIR`; one process,
//! or `--nproc N` workers launched and watched.
use std::path::PathBuf;
use std::process::ExitCode;

use super::config_file::explicit_flags;
use super::dist_args::{DistArgs, DIST_FLAGS};
use super::train_args::TrainArgs;
use anyhow::Context;
use clap::{ArgMatches, Args};
use tch_harness::distributed::WorldEnv;
use tch_harness::run::{self, FitEnd, StopFlag, INTERRUPTED_EXIT_CODE};

/// `train`: a new run from flags, or `--resume DIR` with the run's saved configuration.
#[derive(Debug, Clone, Args)]
pub struct TrainCommand {
    #[command(flatten)]
    pub args: TrainArgs,
    /// Continue the run in DIR from its last checkpoint, with its saved configuration (no other
    /// flag may be given).
    #[arg(long, value_name = "DIR")]
    pub resume: Option<PathBuf>,
    #[command(flatten)]
    pub dist: DistArgs,
}

/// With `--resume`, every setting comes from the run: a flag given as well is an error.
fn check_resume_alone(matches: &ArgMatches) -> anyhow::Result<()> {
    let given: Vec<String> = explicit_flags(matches)
        .into_iter()
        .filter(|id| id != "resume" && !DIST_FLAGS.contains(&id.as_str()))
        .map(|id| format!("--{}", id.replace('_', "-")))
        .collect();
    if !given.is_empty() {
        anyhow::bail!(
            "--resume continues the run with its saved configuration; remove {}",
            given.join(", ")
        );
    }
    Ok(())
}

impl TrainCommand {
    /// `tch-harness train`.
    pub fn run(&self, matches: &ArgMatches) -> anyhow::Result<ExitCode> {
        if self.resume.is_some() {
            check_resume_alone(matches)?;
        }
        let world = WorldEnv::from_env()?;
        if world.is_some() {
            tch_harness::distributed::die_with_parent()?;
        }
        let nproc = self.dist.nproc(world.as_ref())?;
        let dist = self.dist.config()?;
        let config = match &self.resume {
            Some(_) => None,
            None => Some(self.args.resolve(matches)?), // checked once, before any worker starts
        };
        let stop = StopFlag::on_signals()?;
        if nproc > 1 && world.is_none() {
            let threads = config.as_ref().and_then(|c| c.runtime().threads());
            let code = self
                .dist
                .launch(nproc, threads, &stop)
                .context("training failed")?;
            return Ok(ExitCode::from(code));
        }
        let mut progress = run::for_stdout();
        let outcome = match (&self.resume, config) {
            (Some(dir), _) => {
                run::resume_job(dir, &stop, progress.as_mut(), &dist).context("cannot resume")?
            }
            (None, config) => {
                let config = config.expect("resolved above");
                run::train_job(
                    &config,
                    self.args.out.as_deref(),
                    &stop,
                    progress.as_mut(),
                    &dist,
                )
                .context("training failed")?
            }
        };
        if world.as_ref().is_some_and(|w| w.rank > 0) {
            return Ok(match outcome.end {
                FitEnd::Stopped => ExitCode::from(INTERRUPTED_EXIT_CODE),
                FitEnd::Finished => ExitCode::SUCCESS,
            });
        }
        let dir = outcome.run_dir.display();
        if outcome.end == FitEnd::Stopped {
            eprintln!("interrupted: checkpoint saved in {dir}/checkpoints; resume with: tch-harness train --resume {dir}");
            return Ok(ExitCode::from(INTERRUPTED_EXIT_CODE));
        }
        progress.message(&format!("done: {dir}"));
        Ok(ExitCode::SUCCESS)
    }
}
