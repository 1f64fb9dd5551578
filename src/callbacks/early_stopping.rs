//! `--early-stopping "EarlyStopping(monitor='eval_loss', patience=3, min_delta=0.0, mode='min')"`:
//! Lightning's `EarlyStopping` (lightning/pytorch/callbacks/early_stopping.py,
//! `_evaluate_stopping_criteria`), checked after every epoch's record, in float64.
use std::fmt;

use serde::{Deserialize, Serialize};

use super::monitor::{metric, missing, monitor_of, Mode};
use crate::call_spec::CallSpec;
use crate::error::{Error, Result};
use crate::run_state::EpochRecord;

const KEYWORDS: &[&str] = &[
    "monitor",
    "min_delta",
    "patience",
    "verbose",
    "mode",
    "strict",
    "check_finite",
    "stopping_threshold",
    "divergence_threshold",
];

/// The callback as the user spelt it, parsed and checked.
#[derive(Debug, Clone)]
pub struct EarlyStoppingSpec {
    text: String,
    pub monitor: String,
    pub min_delta: f64,
    pub patience: usize,
    pub mode: Mode,
    pub strict: bool,
    pub check_finite: bool,
    pub stopping_threshold: Option<f64>,
    pub divergence_threshold: Option<f64>,
}

/// Where the watch stands; kept in every checkpoint so a resumed run decides the same.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EarlyStoppingState {
    /// `best_score`: the mode's worst value until a finite improvement.
    #[serde(with = "crate::trace::number_or_text")]
    pub best: f64,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub best_epoch: Option<usize>,
    /// `wait_count`: epochs since the last improvement.
    pub wait: usize,
    /// The epoch after which the run stopped, and why.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub stopped: Option<Stopped>,
}

/// Why early stopping ended the run, after which epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stopped {
    pub epoch: usize,
    pub reason: String,
}

impl EarlyStoppingSpec {
    /// Parses `text`; an error names `--early-stopping`.
    pub fn parse(text: &str) -> Result<EarlyStoppingSpec> {
        let named = |e: Error| Error::Config(format!("--early-stopping: {e}"));
        let call = CallSpec::parse(text).map_err(named)?;
        Self::from_call(&call).map_err(named).map(|mut spec| {
            spec.text = text.to_string();
            spec
        })
    }

    fn from_call(call: &CallSpec) -> Result<EarlyStoppingSpec> {
        if call.name != "EarlyStopping" {
            return Err(Error::Config(format!(
                "expected EarlyStopping(monitor=..., ...), got {}",
                call.name
            )));
        }
        call.check_keywords(KEYWORDS)?;
        let monitor = monitor_of(call)?.ok_or_else(|| call.error("missing keyword monitor"))?;
        let min_delta = call.f64("min_delta")?.unwrap_or(0.0);
        let finite = |key: &str, v: Option<f64>| match v {
            Some(v) if !v.is_finite() => Err(call.error(&format!("{key} must be finite"))),
            v => Ok(v),
        };
        finite("min_delta", Some(min_delta))?;
        call.bool("verbose")?;
        Ok(EarlyStoppingSpec {
            text: String::new(),
            monitor,
            min_delta,
            patience: call.usize("patience")?.unwrap_or(3),
            mode: Mode::of(call)?,
            strict: call.bool("strict")?.unwrap_or(true),
            check_finite: call.bool("check_finite")?.unwrap_or(true),
            stopping_threshold: finite("stopping_threshold", call.f64("stopping_threshold")?)?,
            divergence_threshold: finite(
                "divergence_threshold",
                call.f64("divergence_threshold")?,
            )?,
        })
    }

    /// The spelling as given (what config.json records).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The state before the first epoch.
    pub fn start(&self) -> EarlyStoppingState {
        EarlyStoppingState {
            best: self.mode.worst(),
            best_epoch: None,
            wait: 0,
            stopped: None,
        }
    }

    /// Updates `state` with `record`; `Some(reason)` when the run must stop after it.
    pub fn update(&self, state: &mut EarlyStoppingState, record: &EpochRecord) -> Result<()> {
        let Some(current) = metric(record, &self.monitor) else {
            return match self.strict {
                true => Err(missing("--early-stopping", &self.monitor, record)),
                false => Ok(()), // Lightning skips the check
            };
        };
        let (monitor, mode) = (&self.monitor, self.mode);
        // Lightning flips min_delta's sign for mode='min': an improvement beats the best by it.
        let delta = match mode {
            Mode::Max => self.min_delta,
            Mode::Min => -self.min_delta,
        };
        let reason = if self.check_finite && !current.is_finite() {
            Some(format!(
                "{monitor} = {current} is not finite{}",
                best_so_far(state)
            ))
        } else if let Some(t) = self.stopping_threshold.filter(|&t| mode.better(current, t)) {
            Some(format!(
                "stopping threshold reached: {monitor} = {current} (threshold {t})"
            ))
        } else if let Some(t) = self
            .divergence_threshold
            .filter(|&t| mode.better(-current, -t))
        {
            Some(format!(
                "divergence threshold passed: {monitor} = {current} (threshold {t})"
            ))
        } else if mode.better(current - delta, state.best) {
            state.best = current;
            state.best_epoch = Some(record.epoch);
            state.wait = 0;
            None
        } else {
            state.wait += 1;
            (state.wait >= self.patience).then(|| {
                format!(
                    "{monitor} did not improve by {:?} for {} epochs{}",
                    self.min_delta,
                    state.wait,
                    best_so_far(state)
                )
            })
        };
        state.stopped = reason.map(|r| Stopped {
            epoch: record.epoch,
            reason: format!("early stopping, {r}"),
        });
        Ok(())
    }
}

fn best_so_far(state: &EarlyStoppingState) -> String {
    match state.best_epoch {
        Some(epoch) => format!(" (best {} at epoch {epoch})", state.best),
        None => String::new(),
    }
}

impl PartialEq for EarlyStoppingSpec {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl fmt::Display for EarlyStoppingSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}
