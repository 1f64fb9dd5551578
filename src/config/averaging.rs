//! Weight averaging's settings, in `torch.optim.swa_utils`'s terms: `--ema DECAY` (with
//! `--ema-use-buffers`) and `--swa "SWA(swa_lr=0.05, swa_start=5, anneal_epochs=10,
//! anneal_strategy='cos')"`, parsed and checked once where they enter.
//!
//! EMA is two plain flags because it is one number and one switch; SWA is PyTorch's call
//! spelling because it is four of `SWALR`'s and the recipe's keywords, copied from a script.
use std::fmt;

use crate::call_spec::CallSpec;
use crate::error::{Error, Result};

/// `AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=…)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EmaConfig {
    pub decay: f64,
    /// Average the buffers (batch norm statistics) too; else they follow the model's.
    pub use_buffers: bool,
}

impl EmaConfig {
    /// `decay` in [0, 1], as `get_ema_multi_avg_fn` requires.
    pub fn new(decay: f64, use_buffers: bool) -> Result<EmaConfig> {
        if !(0.0..=1.0).contains(&decay) {
            return Err(Error::Config(format!(
                "--ema must be a decay in [0, 1], got {decay}"
            )));
        }
        Ok(EmaConfig { decay, use_buffers })
    }
}

/// How `SWALR` moves from the rate to `swa_lr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anneal {
    Cos,
    Linear,
}

/// The SWA recipe: from epoch `swa_start` (1-based) on, `swa_model.update_parameters(model);
/// swa_scheduler.step()` at each epoch's end instead of the regular scheduler's step.
#[derive(Debug, Clone)]
pub struct SwaSpec {
    text: String,
    pub swa_lr: f64,
    /// The first epoch (1-based) whose end averages the weights.
    pub swa_start: usize,
    pub anneal_epochs: usize,
    pub anneal_strategy: Anneal,
}

impl SwaSpec {
    const KEYWORDS: &'static [&'static str] =
        &["swa_lr", "swa_start", "anneal_epochs", "anneal_strategy"];

    /// Parses `SWA(swa_lr=…, swa_start=…, anneal_epochs=10, anneal_strategy='cos')`.
    pub fn parse(text: &str) -> Result<SwaSpec> {
        let bad = |e: Error| Error::Config(format!("--swa: {e}"));
        let call = CallSpec::parse(text).map_err(bad)?;
        if call.name != "SWA" {
            return Err(Error::Config(format!(
                "--swa: expected SWA(swa_lr=…, swa_start=…, …), got {}",
                call.name
            )));
        }
        call.check_keywords(Self::KEYWORDS).map_err(bad)?;
        let swa_lr = call.required("swa_lr", CallSpec::f64).map_err(bad)?;
        if !(swa_lr.is_finite() && swa_lr >= 0.0) {
            return Err(bad(
                call.error(&format!("swa_lr must be finite and >= 0, got {swa_lr}"))
            ));
        }
        let swa_start = call.required("swa_start", CallSpec::i64).map_err(bad)?;
        if swa_start < 1 {
            return Err(bad(call.error(&format!(
                "swa_start is the first averaged epoch (1-based), at least 1, got {swa_start}"
            ))));
        }
        let anneal_epochs = call.usize("anneal_epochs").map_err(bad)?.unwrap_or(10);
        let anneal_strategy = match call.str("anneal_strategy").map_err(bad)? {
            None | Some("cos") => Anneal::Cos,
            Some("linear") => Anneal::Linear,
            Some(other) => {
                return Err(bad(call.error(&format!(
                    "anneal_strategy must be 'cos' or 'linear', got '{other}'"
                ))))
            }
        };
        Ok(SwaSpec {
            text: text.to_string(),
            swa_lr,
            swa_start: swa_start as usize,
            anneal_epochs,
            anneal_strategy,
        })
    }

    /// The spelling as given (what config.json records).
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

/// Two specs are the same when spelt the same (config.json keeps the text).
impl PartialEq for SwaSpec {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl fmt::Display for SwaSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn swa_parses_pytorch_keywords_with_swalr_defaults() {
        let spec = SwaSpec::parse("SWA(swa_lr=0.05, swa_start=3)").unwrap();
        assert_eq!((spec.swa_lr, spec.swa_start), (0.05, 3));
        assert_eq!(
            (spec.anneal_epochs, spec.anneal_strategy),
            (10, Anneal::Cos)
        );
        let linear =
            SwaSpec::parse("SWA(swa_lr=1, swa_start=1, anneal_epochs=0, anneal_strategy='linear')")
                .unwrap();
        assert_eq!(linear.anneal_strategy, Anneal::Linear);
    }

    #[test]
    fn bad_values_are_one_line_errors() {
        for (text, says) in [
            ("SWA(swa_lr=0.05, swa_start=0)", "at least 1"),
            ("SWA(swa_lr=0.05)", "missing keyword swa_start"),
            (
                "SWA(swa_lr=0.05, swa_start=2, gamma=1)",
                "unknown keyword 'gamma'",
            ),
            ("SWA(swa_lr=-1, swa_start=2)", "swa_lr must be"),
            (
                "SWA(swa_lr=1, swa_start=2, anneal_strategy='exp')",
                "'cos' or 'linear'",
            ),
            ("SWALR(swa_lr=1)", "expected SWA("),
        ] {
            let e = SwaSpec::parse(text).unwrap_err().to_string();
            assert!(e.contains(says) && !e.contains('\n'), "{text}: {e}");
        }
        assert!(EmaConfig::new(1.5, false).is_err());
        assert!(EmaConfig::new(-0.1, false).is_err());
        assert!(EmaConfig::new(f64::NAN, false).is_err());
        assert!(EmaConfig::new(1.0, true).is_ok());
    }
}
