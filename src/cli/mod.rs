//! The command line. clap types live here only; each command turns its arguments into the
//! library's own types before running.
mod eval;
mod train_args;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use eval::EvalArgs;
pub use train_args::TrainArgs;

/// A training harness on tch-rs (libtorch) whose epoch losses match PyTorch's.
#[derive(Debug, Parser)]
#[command(name = "tch-harness", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// With no subcommand, `train` runs with these flags.
    #[command(flatten)]
    train: TrainArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train an experiment and write its run directory (the default command).
    Train(TrainArgs),
    /// Loss (and accuracy) of a model over a dataset, with the training loop's accounting.
    Eval(EvalArgs),
}

impl Cli {
    /// Runs the chosen command.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        match self.command {
            Some(Command::Train(args)) => args.run(),
            Some(Command::Eval(args)) => args.run(),
            None => self.train.run(),
        }
    }
}
