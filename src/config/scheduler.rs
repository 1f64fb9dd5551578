//! `--scheduler`, parsed once where it enters: PyTorch's spelling (`StepLR(step_size=1,
//! gamma=0.7)`) kept beside its parsed form, and checked to build on the run's rates.
use std::fmt;

use super::ScheduleInterval;
use crate::call_spec::CallSpec;
use crate::error::{quote, Error, Result};

/// A learning-rate scheduler as the user spelt it, known to parse.
#[derive(Debug, Clone)]
pub struct SchedulerSpec {
    text: String,
    call: CallSpec,
}

impl SchedulerSpec {
    /// Parses `text`; an error names `--scheduler` and quotes (the start of) the text.
    pub fn parse(text: &str) -> Result<SchedulerSpec> {
        // The parser's message quotes the text already.
        let call = CallSpec::parse(text).map_err(|e| Error::Config(format!("--scheduler: {e}")))?;
        Ok(SchedulerSpec {
            text: text.to_string(),
            call,
        })
    }

    /// The spelling as given (what config.json records).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The parsed spelling, which `schedule::scheduler` builds from.
    pub(crate) fn call(&self) -> &CallSpec {
        &self.call
    }

    /// An error unless the scheduler builds on parameter groups starting at `lrs`, and, stepped
    /// per batch, does not need the epoch's loss (there is none then).
    pub(super) fn check(&self, lrs: &[f64], interval: ScheduleInterval) -> Result<()> {
        let scheduler = crate::schedule::scheduler(&self.call, &mut lrs.to_vec())
            .map_err(|e| Error::Config(format!("--scheduler: {e}")))?;
        if interval == ScheduleInterval::Batch && scheduler.needs_metric() {
            return Err(Error::Config(format!(
                "--scheduler {}: ReduceLROnPlateau steps on the epoch's loss; use \
                 --scheduler-interval epoch",
                quote(&self.text)
            )));
        }
        Ok(())
    }
}

/// Two specs are the same scheduler when they are spelt the same (config.json keeps the text).
impl PartialEq for SchedulerSpec {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl fmt::Display for SchedulerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
