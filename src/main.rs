//! `tch-harness`: parse the command line, run, and turn any error into one line and exit code 1.
mod cli;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::{CommandFactory, FromArgMatches};

/// Set when a print found stdout closed by its reader: the command then ends quietly.
static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

fn main() -> ExitCode {
    // A bug must still end in one line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_string());
        let first = message.lines().next().unwrap_or("").to_string();
        if first.starts_with("failed printing to stdout") && first.contains("Broken pipe") {
            // `tch-harness info | head -3`: the reader left, as `grep … | head` leaves grep.
            STDOUT_CLOSED.store(true, Ordering::Relaxed);
            return;
        }
        eprintln!("error: internal error: {first}");
    }));
    let parsed = cli::Cli::command()
        .try_get_matches()
        .and_then(|m| cli::Cli::from_arg_matches(&m).map(|cli| (cli, m)));
    let (cli, matches) = match parsed {
        Ok(parsed) => parsed,
        Err(e) if !e.use_stderr() => e.exit(), // --help and --version: clap's own output
        Err(e) => {
            // clap's 2–5 lines (usage, tip) folded into the project's one line.
            let text = e.to_string();
            let folded: Vec<&str> = text
                .lines()
                .map(str::trim)
                .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
                .filter(|l| !l.is_empty() && !l.starts_with("tip:"))
                .collect();
            eprintln!("{} (see --help)", shorten(&folded.join(" "), 300));
            return ExitCode::from(2);
        }
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cli.run(&matches))) {
        Ok(Ok(code)) => code,
        Ok(Err(error)) => {
            eprintln!("error: {}", shorten(&format!("{error:#}"), 1000));
            ExitCode::FAILURE
        }
        Err(_) if STDOUT_CLOSED.load(Ordering::Relaxed) => ExitCode::from(141), // 128 + SIGPIPE
        Err(_) => ExitCode::from(101),
    }
}

/// `line` cut to a readable length: a quoted 1 MB argument must not come back as a 1 MB line.
fn shorten(line: &str, max: usize) -> String {
    match line.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line.to_string(),
    }
}
