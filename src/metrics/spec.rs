//! The metrics' names, as `--metrics` and config.json's `metrics` spell them:
//! `top{k}_accuracy`, `{micro|macro}_{precision|recall|f1}` and `perplexity`.
use std::fmt;
use std::str::FromStr;

use crate::error::{quote, Error, Result};

/// Which per-class ratio a [`MetricSpec::Class`] takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClassStat {
    Precision,
    Recall,
    F1,
}

/// torchmetrics' `average=`: the ratio of the summed counts (`micro`), or the mean of the
/// per-class ratios (`macro`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Average {
    Micro,
    Macro,
}

/// One metric, parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricSpec {
    /// `top{k}_accuracy`: the targets found among the `k` largest outputs.
    TopK(i64),
    /// `{micro|macro}_{precision|recall|f1}` of the argmax predictions.
    Class(Average, ClassStat),
    /// `perplexity`: exp of the mean token negative log-likelihood.
    Perplexity,
}

/// What `--metrics` accepts, for errors and help.
pub const METRIC_NAMES: &str =
    "top{k}_accuracy, {micro,macro}_precision, {micro,macro}_recall, {micro,macro}_f1, perplexity";

impl MetricSpec {
    /// A comma-separated list (`"top5_accuracy, macro_f1"`), each name once.
    pub fn parse_list(list: &str) -> Result<Vec<MetricSpec>> {
        let names: Vec<&str> = list.split(',').map(str::trim).collect();
        if names.iter().all(|n| n.is_empty()) {
            return Ok(Vec::new());
        }
        MetricSpec::parse_names(&names)
    }

    /// Each of `names` parsed; a name given twice is an error.
    pub fn parse_names<S: AsRef<str>>(names: &[S]) -> Result<Vec<MetricSpec>> {
        let mut specs: Vec<MetricSpec> = Vec::new();
        for name in names {
            let spec: MetricSpec = name.as_ref().parse()?;
            if specs.contains(&spec) {
                return Err(Error::Config(format!("--metrics: {spec} is given twice")));
            }
            specs.push(spec);
        }
        Ok(specs)
    }
}

impl FromStr for MetricSpec {
    type Err = Error;

    fn from_str(name: &str) -> Result<MetricSpec> {
        let unknown = || {
            Error::Config(format!(
                "--metrics: unknown metric '{}' (known: {METRIC_NAMES})",
                quote(name)
            ))
        };
        if name == "perplexity" {
            return Ok(MetricSpec::Perplexity);
        }
        if let Some(k) = name
            .strip_prefix("top")
            .and_then(|r| r.strip_suffix("_accuracy"))
        {
            // Digits without a leading zero: `top+5`, `top05` and `top0` are not names.
            let digits = k.bytes().all(|b| b.is_ascii_digit()) && !k.starts_with('0');
            let k: i64 = match k.parse() {
                Ok(k) if digits => k,
                _ => return Err(unknown()),
            };
            return Ok(MetricSpec::TopK(k));
        }
        let (average, stat) = name.split_once('_').ok_or_else(unknown)?;
        let average = match average {
            "micro" => Average::Micro,
            "macro" => Average::Macro,
            _ => return Err(unknown()),
        };
        let stat = match stat {
            "precision" => ClassStat::Precision,
            "recall" => ClassStat::Recall,
            "f1" => ClassStat::F1,
            _ => return Err(unknown()),
        };
        Ok(MetricSpec::Class(average, stat))
    }
}

impl fmt::Display for MetricSpec {
    /// The name it is parsed from, and its key in `metrics.jsonl`'s `eval_metrics`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MetricSpec::TopK(k) => write!(f, "top{k}_accuracy"),
            MetricSpec::Class(average, stat) => {
                let average = match average {
                    Average::Micro => "micro",
                    Average::Macro => "macro",
                };
                let stat = match stat {
                    ClassStat::Precision => "precision",
                    ClassStat::Recall => "recall",
                    ClassStat::F1 => "f1",
                };
                write!(f, "{average}_{stat}")
            }
            MetricSpec::Perplexity => f.write_str("perplexity"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_and_print_back() {
        let list =
            "top5_accuracy, macro_f1,micro_precision , macro_recall, perplexity, top1_accuracy";
        let specs = MetricSpec::parse_list(list).unwrap();
        let names: Vec<String> = specs.iter().map(ToString::to_string).collect();
        assert_eq!(
            names,
            [
                "top5_accuracy",
                "macro_f1",
                "micro_precision",
                "macro_recall",
                "perplexity",
                "top1_accuracy"
            ]
        );
        assert_eq!(MetricSpec::parse_list(" ").unwrap(), []);
    }

    #[test]
    fn bad_names_are_one_line_errors() {
        for bad in [
            "top0_accuracy",
            "top05_accuracy",
            "top+5_accuracy",
            "top_accuracy",
            "topk_accuracy",
            "macro_f2",
            "weighted_f1",
            "f1",
            "accuracy",
            "macro_f1,,perplexity",
        ] {
            let message = MetricSpec::parse_list(bad).unwrap_err().to_string();
            assert!(
                message.starts_with("--metrics: unknown metric '"),
                "{bad}: {message}"
            );
            assert!(!message.contains('\n'));
        }
        let twice = MetricSpec::parse_list("macro_f1, macro_f1")
            .unwrap_err()
            .to_string();
        assert_eq!(twice, "--metrics: macro_f1 is given twice");
    }
}
