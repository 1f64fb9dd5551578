//! A bounded, seeded fuzz over flags and values (issue 24): whatever a careless or hostile user
//! types, `train` ends with exit 0, 1 or 2, and on failure with exactly one `error: …` line —
//! never a panic, an `internal error`, a signal or a multi-line message.
use std::process::Output;

use crate::common::{run_bin, tempdir, text};

/// Flags that take a value.
const FLAGS: &[&str] = &[
    "--lr",
    "--momentum",
    "--dampening",
    "--weight-decay",
    "--beta1",
    "--beta2",
    "--eps",
    "--epochs",
    "--batch-size",
    "--seed",
    "--threads",
    "--clip-grad-norm",
    "--clip-grad-value",
    "--clip-norm-type",
    "--label-smoothing",
    "--accumulate",
    "--checkpoint-every",
    "--optimizer",
    "--scheduler",
    "--device",
    "--loss-sync",
    "--on-nonfinite",
    "--loss",
];

/// Values: out of range, non-finite, negative, huge, tiny, junk, and a few valid ones.
const VALUES: &[&str] = &[
    "nan",
    "inf",
    "-inf",
    "-1",
    "0",
    "1",
    "3",
    "0.5",
    "1e39",
    "3.5e38",
    "1e308",
    "-1e-300",
    "1e-45",
    "18446744073709551616",
    "-0",
    "abc",
    "",
    "0x10",
    "adam",
    "SGD(lr=",
    "Adam(betas=(1, 2, 3))",
    "ExponentialLR(gamma=1e308)",
    "StepLR(step_size=0)",
    "cuda:99",
    "epoch",
    "skip-batch",
    "mse",
];

/// A small linear congruential generator: the same cases on every run.
pub(crate) struct Lcg(pub(crate) u64);

impl Lcg {
    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

#[test]
fn fuzzed_flags_end_in_one_line_or_success() {
    let dir = tempdir();
    let mut rng = Lcg(2026);
    for case in 0..150 {
        let out = dir.path().join(format!("case-{case}"));
        let mut args: Vec<String> = [
            "train",
            "--experiment",
            "linear-regression",
            "--epochs",
            "1",
            "--threads",
            "1",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for _ in 0..1 + rng.below(3) {
            args.push(FLAGS[rng.below(FLAGS.len())].to_string());
            args.push(VALUES[rng.below(VALUES.len())].to_string());
        }
        args.extend(["--out".to_string(), out.to_str().unwrap().to_string()]);
        let run = run_bin(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert_exit_or_one_error_line(&run, &format!("case {case} {args:?}"));
    }
}

/// Asserts that `run` ended with exit 0, 1 or 2 and, when it failed, with exactly one `error: …`
/// line on stderr and no panic or `internal error`.
pub(crate) fn assert_exit_or_one_error_line(run: &Output, case: &str) {
    let code = run.status.code();
    assert!(matches!(code, Some(0..=2)), "{case}: {}", text(run));
    if code == Some(0) {
        return;
    }
    let stderr = String::from_utf8_lossy(&run.stderr);
    // libtorch's own warnings (`[W…]`) may stand before the error; nothing else may.
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("[W"))
        .collect();
    assert!(
        lines.len() == 1 && lines[0].starts_with("error: "),
        "{case}: not one error line: {}",
        text(run)
    );
    assert!(
        !stderr.contains("internal error") && !stderr.contains("panicked"),
        "{case}: {}",
        text(run)
    );
}
