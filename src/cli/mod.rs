//! The command line. clap types live here only; each command turns its arguments into the
//! library's own types before running.
mod info;
mod train_args;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use info::InfoArgs;
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
#[allow(clippy::large_enum_variant)] // parsed once per process
enum Command {
    /// Train an experiment and write its run directory (the default command).
    Train(TrainArgs),
    /// Print the tch and libtorch versions, CUDA and cuDNN availability, and libtorch's threads.
    Info(InfoArgs),
}

impl Cli {
    /// Runs the chosen command.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        match self.command {
            Some(Command::Train(args)) => args.run(),
            Some(Command::Info(args)) => args.run(),
            None => self.train.run(),
        }
    }
}
