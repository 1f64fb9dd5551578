//! Workers die with whoever started them: `train --nproc`'s launcher sets `PR_SET_PDEATHSIG` in
//! each worker before exec, and a worker started by torchrun's agent sets it on itself, so a
//! SIGKILLed launcher (which cannot forward anything) leaves no rank training on.
use std::io;

use crate::error::{Error, Result};

/// In the forked child, before exec (async-signal-safe calls only): SIGKILL this process when
/// the parent thread ends. The parent may already have died between fork and here, so the
/// parent's pid is checked after the flag is set.
pub(crate) fn die_with(parent: libc::pid_t) -> io::Result<()> {
    // SAFETY: prctl and getppid are async-signal-safe and touch no memory of ours.
    unsafe {
        if libc::prctl(
            libc::PR_SET_PDEATHSIG,
            libc::SIGKILL as libc::c_ulong,
            0,
            0,
            0,
        ) != 0
        {
            return Err(io::Error::last_os_error());
        }
        if libc::getppid() != parent {
            return Err(io::Error::other("the launcher has ended"));
        }
    }
    Ok(())
}

/// In a rank started by torchrun's agent (or our launcher): end with the agent. A parent of 1
/// means the agent is already gone and this process was handed to init.
pub fn die_with_parent() -> Result<()> {
    // SAFETY: as above; getppid cannot fail.
    let parent = unsafe { libc::getppid() };
    if parent == 1 {
        return Err(Error::Distributed(
            "the process that started this rank has ended".into(),
        ));
    }
    die_with(parent)
        .map_err(|e| Error::Distributed(format!("cannot tie this rank to its launcher: {e}")))
}
