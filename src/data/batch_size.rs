//! Samples per batch, as the batching reads it.
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Samples per batch: at least 1, checked once, where the value enters (flag or file).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "i64", into = "i64")]
pub struct BatchSize(i64);

impl BatchSize {
    /// An error naming `--batch-size` unless `n >= 1`.
    pub fn new(n: i64) -> Result<BatchSize> {
        if n < 1 {
            return Err(Error::Config(format!(
                "--batch-size must be at least 1, got {n}"
            )));
        }
        Ok(BatchSize(n))
    }

    /// The number of samples.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl TryFrom<i64> for BatchSize {
    type Error = Error;

    fn try_from(n: i64) -> Result<BatchSize> {
        BatchSize::new(n)
    }
}

impl From<BatchSize> for i64 {
    fn from(b: BatchSize) -> i64 {
        b.0
    }
}
