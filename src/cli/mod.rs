//! The command line. clap types live here only; each command turns its arguments into the
//! library's own types before running.
mod backend_args;
mod compare;
mod config_file;
mod diff;
mod dist_args;
mod eval;
mod info;
mod loss_args;
mod optimizer_args;
mod runtime_args;
mod train_args;
mod train_command;
mod train_wire;

use std::process::ExitCode;

use clap::{ArgMatches, Parser, Subcommand};

pub use compare::CompareArgs;
pub use diff::DiffArgs;
pub use eval::EvalArgs;
pub use info::InfoArgs;
pub use train_args::TrainArgs;
pub use train_command::TrainCommand;

/// A training harness on tch-rs (libtorch) whose epoch losses match PyTorch's.
#[derive(Debug, Parser)]
#[command(name = "tch-harness", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// With no subcommand, `train` runs with these flags.
    #[command(flatten)]
    train: TrainCommand,
}

#[derive(Debug, Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once per process
enum Command {
    /// Train an experiment and write its run directory (the default command).
    Train(TrainCommand),
    /// Train with the harness and with the PyTorch reference on the same settings; diff the
    /// per-epoch losses (exit status 1 beyond --tolerance).
    Compare(CompareArgs),
    /// Compare two existing runs' metrics.jsonl epoch by epoch, as compare does (exit status 1
    /// beyond --tolerance).
    Diff(DiffArgs),
    /// Loss (and accuracy) of a model over a dataset, with the training loop's accounting.
    Eval(EvalArgs),
    /// Print the tch and libtorch versions, CUDA and cuDNN availability, and libtorch's threads.
    Info(InfoArgs),
}

impl Cli {
    /// Runs the chosen command; `matches` tell which flags were given explicitly.
    pub fn run(self, matches: &ArgMatches) -> anyhow::Result<ExitCode> {
        match self.command {
            Some(Command::Train(args)) => {
                args.run(matches.subcommand_matches("train").unwrap_or(matches))
            }
            Some(Command::Compare(args)) => {
                args.run(matches.subcommand_matches("compare").unwrap_or(matches))
            }
            Some(Command::Diff(args)) => args.run(),
            Some(Command::Eval(args)) => args.run(),
            Some(Command::Info(args)) => args.run(),
            None => self.train.run(matches),
        }
    }
}
