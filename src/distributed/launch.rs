//! `train --nproc N`: N worker processes of this binary on this machine, joined on the loopback
//! through the torchrun variables. Each worker's lines come out prefixed `[rank R]`; Ctrl-C and
//! SIGTERM are forwarded to every worker (each in its own process group, so a terminal's Ctrl-C
//! reaches them once, through here); when one fails, the others are stopped and the job's one
//! error line names the rank and what ended it.
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::interrupt::INTERRUPTED_EXIT_CODE;

/// Tells a worker it was started by `--nproc` (so it does not launch again).
pub const LAUNCHED_VAR: &str = "TCH_HARNESS_LAUNCHED";

/// What to start.
#[derive(Debug, Clone)]
pub struct LaunchPlan {
    pub nproc: usize,
    /// The store's port; `None` picks a free one.
    pub master_port: Option<u16>,
    /// The worker's arguments (this command line, without the program).
    pub args: Vec<OsString>,
}

/// How long the others get to end on their own once one rank has failed (their collectives fail
/// within milliseconds when a peer's sockets close), before they are killed.
const GRACE: Duration = Duration::from_secs(5);

/// Runs the job; returns the exit status to end with (rank 0's, when every rank ended alike).
pub fn launch(plan: &LaunchPlan, signals: &crate::interrupt::StopFlag) -> Result<u8> {
    let port = match plan.master_port {
        Some(port) => port,
        None => free_port()?,
    };
    let exe = std::env::current_exe().map_err(|e| {
        Error::Distributed(format!(
            "cannot find this program to start its workers: {e}"
        ))
    })?;
    let errors = Arc::new(Mutex::new(vec![None::<String>; plan.nproc]));
    // This thread spawns every worker and lives as long as the launcher: PDEATHSIG follows it.
    let launcher = std::process::id() as libc::pid_t;
    let mut workers = Vec::with_capacity(plan.nproc);
    for rank in 0..plan.nproc {
        let mut command = Command::new(&exe);
        command
            .args(&plan.args)
            .env("RANK", rank.to_string())
            .env("LOCAL_RANK", rank.to_string())
            .env("WORLD_SIZE", plan.nproc.to_string())
            .env("LOCAL_WORLD_SIZE", plan.nproc.to_string())
            .env("MASTER_ADDR", "127.0.0.1")
            .env("MASTER_PORT", port.to_string())
            .env("OMP_NUM_THREADS", "1")
            .env(LAUNCHED_VAR, "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        // SAFETY: the hook only makes async-signal-safe calls (prctl, getppid).
        unsafe {
            command.pre_exec(move || super::parent::die_with(launcher));
        }
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(e) => {
                stop_all(&mut workers);
                return Err(Error::Distributed(format!("cannot start rank {rank}: {e}")));
            }
        };
        let out = relay(child.stdout.take(), rank, None);
        let err = relay(child.stderr.take(), rank, Some(errors.clone()));
        workers.push(Worker {
            child,
            relays: vec![out, err],
            status: None,
            ended: None,
            killed: false,
        });
    }
    let outcome = supervise(&mut workers, signals);
    for worker in &mut workers {
        for relay in worker.relays.drain(..) {
            let _ = relay.join();
        }
    }
    let errors = errors.lock().map(|e| e.clone()).unwrap_or_default();
    match outcome {
        Outcome::Done(code) => Ok(code),
        Outcome::Failed { rank, status } => Err(Error::Distributed(failure(
            rank,
            plan.nproc,
            status,
            errors[rank].as_deref(),
        ))),
    }
}

struct Worker {
    child: Child,
    relays: Vec<JoinHandle<()>>,
    status: Option<ExitStatus>,
    /// When its end was seen.
    ended: Option<Instant>,
    /// Killed by the launcher after another rank failed.
    killed: bool,
}

enum Outcome {
    /// Every rank ended with this status.
    Done(u8),
    /// The rank whose end started the failure.
    Failed { rank: usize, status: ExitStatus },
}

/// A failure, not a success nor the stop a forwarded signal asked for.
fn failed(status: ExitStatus) -> bool {
    !status.success() && status.code() != Some(i32::from(INTERRUPTED_EXIT_CODE))
}

/// Waits for every worker, forwarding stop signals; stops the rest when one fails.
fn supervise(workers: &mut [Worker], signals: &crate::interrupt::StopFlag) -> Outcome {
    let mut forwarded = false;
    let mut failed_at: Option<Instant> = None;
    while workers.iter().any(|w| w.status.is_none()) {
        if signals.requested() && !forwarded {
            forwarded = true;
            for worker in workers.iter() {
                send_signal(&worker.child, signal_hook::consts::SIGINT);
            }
        }
        for worker in workers.iter_mut().filter(|w| w.status.is_none()) {
            worker.status = worker.child.try_wait().ok().flatten();
            if let Some(status) = worker.status {
                worker.ended = Some(Instant::now());
                if failed(status) && failed_at.is_none() {
                    failed_at = Some(Instant::now());
                }
            }
        }
        if failed_at.is_some_and(|t| t.elapsed() > GRACE) {
            stop_all(workers);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    // The cause: a rank killed by a signal (the others' errors follow from it), else the first
    // rank seen failing.
    let cause = workers
        .iter()
        .enumerate()
        .filter(|(_, w)| !w.killed && w.status.is_some_and(failed))
        .min_by_key(|(_, w)| (w.status.and_then(|s| s.signal()).is_none(), w.ended));
    match cause {
        Some((rank, worker)) => Outcome::Failed {
            rank,
            status: worker.status.expect("ended"),
        },
        None => Outcome::Done(
            workers[0]
                .status
                .and_then(|s| s.code())
                .unwrap_or(1)
                .clamp(0, 255) as u8,
        ),
    }
}

/// Copies a worker's lines to ours, prefixed with its rank; an `error:` line of stderr is kept
/// for the job's own error line instead (the first one: the others follow from it).
fn relay(
    pipe: Option<impl Read + Send + 'static>,
    rank: usize,
    errors: Option<Arc<Mutex<Vec<Option<String>>>>>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let Some(pipe) = pipe else { return };
        for line in BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if let (Some(errors), Some(message)) = (&errors, line.strip_prefix("error: ")) {
                if let Ok(mut errors) = errors.lock() {
                    errors[rank].get_or_insert_with(|| message.to_string());
                }
                continue;
            }
            if errors.is_some() {
                let _ = writeln!(std::io::stderr().lock(), "[rank {rank}] {line}");
            } else {
                let _ = writeln!(std::io::stdout().lock(), "[rank {rank}] {line}");
            }
        }
    })
}

/// The job's error line.
fn failure(rank: usize, world: usize, status: ExitStatus, error: Option<&str>) -> String {
    let how = match (status.signal(), error) {
        (Some(signal), _) => format!("was killed by signal {signal}{}", signal_name(signal)),
        (None, Some(error)) => format!("failed: {}", error.trim_start_matches("training failed: ")),
        (None, None) => format!("exited with status {}", status.code().unwrap_or(-1)),
    };
    format!("rank {rank} of {world} {how}; the other ranks were stopped")
}

fn signal_name(signal: i32) -> &'static str {
    match signal {
        9 => " (SIGKILL)",
        15 => " (SIGTERM)",
        2 => " (SIGINT)",
        11 => " (SIGSEGV)",
        6 => " (SIGABRT)",
        _ => "",
    }
}

fn stop_all(workers: &mut [Worker]) {
    for worker in workers.iter_mut().filter(|w| w.status.is_none()) {
        let _ = worker.child.kill();
        worker.killed = true;
        worker.status = worker.child.wait().ok();
        worker.ended = Some(Instant::now());
    }
}

fn send_signal(child: &Child, signal: i32) {
    // SAFETY: kill(2) on a child we started and have not reaped.
    unsafe {
        kill(child.id() as i32, signal);
    }
}

extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
}

/// A port no one listens on now (the OS picks it; it is free again once the listener closes).
fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .map_err(|e| Error::Distributed(format!("cannot find a free port on 127.0.0.1: {e}")))?;
    Ok(listener
        .local_addr()
        .map_err(|e| Error::Distributed(e.to_string()))?
        .port())
}
