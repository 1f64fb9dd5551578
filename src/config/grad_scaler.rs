//! `--grad-scaler`, parsed once where it enters: `torch.amp.GradScaler`'s options in PyTorch's
//! spelling (`GradScaler(init_scale=1024.0, growth_interval=100)`), kept beside the text, with
//! PyTorch's defaults for the keywords left out and every option's range checked.
use std::fmt;

use crate::call_spec::CallSpec;
use crate::error::{quote, Error, Result};
use crate::optim::FLOAT32_MAX;

/// The constructor's keywords (its first argument, the device type, is the run's `--device`).
const KEYWORDS: &[&str] = &[
    "init_scale",
    "growth_factor",
    "backoff_factor",
    "growth_interval",
    "enabled",
];

/// `torch.amp.GradScaler`'s options.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScalerOptions {
    /// The first scale (a float32 tensor: rounded to float32 as `torch.full` does).
    pub init_scale: f64,
    /// The scale's factor after `growth_interval` windows in a row without a non-finite gradient.
    pub growth_factor: f64,
    /// The scale's factor after a window with one (whose step is skipped).
    pub backoff_factor: f64,
    pub growth_interval: i64,
    /// `False`: no scaling at all, as if no scaler were given.
    pub enabled: bool,
}

/// PyTorch 2.11's defaults (`torch/amp/grad_scaler.py`).
impl Default for ScalerOptions {
    fn default() -> Self {
        ScalerOptions {
            init_scale: 65536.0, // 2.0**16
            growth_factor: 2.0,
            backoff_factor: 0.5,
            growth_interval: 2000,
            enabled: true,
        }
    }
}

/// A loss scaler as the user spelt it, known to parse and to be in range.
#[derive(Debug, Clone)]
pub struct GradScalerSpec {
    text: String,
    options: ScalerOptions,
}

impl GradScalerSpec {
    /// Parses `text`; an error is one line naming `--grad-scaler` and the option.
    pub fn parse(text: &str) -> Result<GradScalerSpec> {
        let flag = |e: Error| Error::Config(format!("--grad-scaler: {e}"));
        let call = CallSpec::parse(text).map_err(flag)?;
        let options = options(&call).map_err(flag)?;
        Ok(GradScalerSpec {
            text: text.to_string(),
            options,
        })
    }

    /// The spelling as given (what config.json records).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The options, PyTorch's defaults where none was given.
    pub fn options(&self) -> ScalerOptions {
        self.options
    }
}

/// The options of a `GradScaler(...)` call, each checked.
fn options(call: &CallSpec) -> Result<ScalerOptions> {
    if call.name != "GradScaler" {
        return Err(Error::Config(format!(
            "expected GradScaler(...) (torch.amp.GradScaler), got {}",
            quote(&call.name)
        )));
    }
    call.check_keywords(KEYWORDS)?;
    let d = ScalerOptions::default();
    let o = ScalerOptions {
        init_scale: call.f64("init_scale")?.unwrap_or(d.init_scale),
        growth_factor: call.f64("growth_factor")?.unwrap_or(d.growth_factor),
        backoff_factor: call.f64("backoff_factor")?.unwrap_or(d.backoff_factor),
        growth_interval: call.i64("growth_interval")?.unwrap_or(d.growth_interval),
        enabled: call.bool("enabled")?.unwrap_or(d.enabled),
    };
    let bad = |message: String| Err(call.error(&message));
    // float32's largest value bounds both: the scale is a float32 tensor, and a larger
    // init_scale would be infinity from the start.
    if !(o.init_scale > 0.0 && o.init_scale <= FLOAT32_MAX) {
        return bad(format!(
            "init_scale must be > 0 and at most {FLOAT32_MAX:e} (float32), got {}",
            o.init_scale
        ));
    }
    if !(o.growth_factor > 1.0 && o.growth_factor <= FLOAT32_MAX) {
        return bad(format!(
            "growth_factor must be > 1.0 (PyTorch: \"The growth factor must be > 1.0.\"), got {}",
            o.growth_factor
        ));
    }
    // PyTorch asserts < 1.0 only; 0 or less would zero the scale or flip its sign for good.
    if !(o.backoff_factor > 0.0 && o.backoff_factor < 1.0) {
        return bad(format!(
            "backoff_factor must be in (0, 1), got {}",
            o.backoff_factor
        ));
    }
    if o.growth_interval < 1 {
        return bad(format!(
            "growth_interval must be at least 1, got {}",
            o.growth_interval
        ));
    }
    Ok(o)
}

/// Two specs are the same scaler when they are spelt the same (config.json keeps the text).
impl PartialEq for GradScalerSpec {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl fmt::Display for GradScalerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(text: &str) -> ScalerOptions {
        GradScalerSpec::parse(text).unwrap().options()
    }

    fn refused(text: &str) -> String {
        GradScalerSpec::parse(text).unwrap_err().to_string()
    }

    #[test]
    fn pytorch_defaults_fill_the_keywords_left_out() {
        assert_eq!(parsed("GradScaler()"), ScalerOptions::default());
        let o = parsed("GradScaler(init_scale=1024.0, growth_interval=100)");
        assert_eq!((o.init_scale, o.growth_interval), (1024.0, 100));
        assert_eq!(o.growth_factor, 2.0);
        assert!(!parsed("GradScaler(enabled=False)").enabled);
        assert_eq!(parsed("GradScaler(init_scale=8)").init_scale, 8.0);
    }

    #[test]
    fn options_out_of_range_are_one_line_errors_naming_them() {
        for (text, names) in [
            ("GradScaler(init_scale=-1.0)", "init_scale"),
            ("GradScaler(init_scale=0.0)", "init_scale"),
            ("GradScaler(init_scale=1e39)", "init_scale"),
            ("GradScaler(init_scale=nan)", "init_scale"),
            ("GradScaler(growth_factor=1.0)", "growth_factor"),
            ("GradScaler(growth_factor=inf)", "growth_factor"),
            ("GradScaler(backoff_factor=1.0)", "backoff_factor"),
            ("GradScaler(backoff_factor=0.0)", "backoff_factor"),
            ("GradScaler(growth_interval=0)", "growth_interval"),
            ("GradScaler(growth_interval=2.0)", "growth_interval"),
            ("GradScaler(enabled=1)", "enabled"),
            ("GradScaler(init_scal=2.0)", "'init_scal'"),
            ("Scaler()", "GradScaler"),
            ("GradScaler(", "--grad-scaler"),
        ] {
            let message = refused(text);
            assert!(message.contains(names), "{text}: {message}");
            assert!(message.contains("--grad-scaler"), "{text}: {message}");
            assert!(!message.contains('\n'), "{text}: {message}");
        }
    }
}
