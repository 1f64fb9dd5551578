//! One line of `trace.jsonl`, read and written.
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Fingerprint;
use crate::error::{Error, Result};

/// A step of the trace (step 0: the initial state, `values` only).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TraceLine {
    pub step: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<usize>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub losses: Vec<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<u64>,
    /// Hash of the step's sample indices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grads: Vec<Fingerprint>,
    #[serde(default)]
    pub values: Vec<Fingerprint>,
}

/// Every line of the trace at `path`; a line that is not a trace step is an error naming it.
pub fn read_trace(path: &Path) -> Result<Vec<TraceLine>> {
    crate::bounded::read_json_lines(path, "a trace step")
}

/// The lines up to the first that does not parse (a write torn by a kill).
pub(super) fn read_lenient(path: &Path) -> Result<Vec<TraceLine>> {
    let text = match crate::bounded::read_to_string(path, crate::bounded::LOG_LIMIT) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::file(path, e)),
    };
    Ok(text
        .lines()
        .map_while(|l| serde_json::from_str(l).ok())
        .collect())
}
