//! Ctrl-C and SIGTERM: the first asks the loop to stop at the next batch boundary (it then saves a
//! checkpoint and exits 130); a second one exits at once. Every file the harness writes is
//! replaced atomically or appended in whole lines, so exiting at any instant corrupts nothing.
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::error::{Error, Result};

/// Exit status after an interrupt (128 + SIGINT).
pub const INTERRUPTED_EXIT_CODE: u8 = 130;

/// A stop request, set by a signal handler (or by tests and library users).
#[derive(Debug, Clone, Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    /// A flag no signal sets.
    pub fn new() -> Self {
        Self::default()
    }

    /// A flag set by SIGINT and SIGTERM; the second such signal exits the process at once with
    /// status 130.
    pub fn on_signals() -> Result<Self> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let flag = StopFlag::new();
        for signal in [SIGINT, SIGTERM] {
            // The shutdown hook must be registered first: it fires only once the flag is set.
            signal_hook::flag::register_conditional_shutdown(
                signal,
                INTERRUPTED_EXIT_CODE as i32,
                flag.0.clone(),
            )
            .and_then(|_| signal_hook::flag::register(signal, flag.0.clone()))
            .map_err(|e| Error::Config(format!("cannot install the signal handler: {e}")))?;
        }
        Ok(flag)
    }

    /// Asks the loop to stop.
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether a stop was asked for.
    pub fn requested(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}
