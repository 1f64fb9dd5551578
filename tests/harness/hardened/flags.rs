//! Impossible flag combinations: flags `--resume` does not take, invalid values, and paths that
//! are not run directories.
use std::path::Path;

use super::runner::{case, Case};

/// Flags that `--resume` of `base` does not take, invalid flags for a new run, and `--resume` of
/// paths that are not runs.
pub(super) fn flag_cases(dir: &Path, base: &Path) -> Vec<Case> {
    let run = base.to_str().unwrap();
    let never = dir.join("never-flags");
    let out = never.to_str().unwrap();
    let mut cases = Vec::new();
    let with_resume: &[&[&str]] = &[
        &["--experiment", "digits-mlp"],
        &["--epochs", "3"],
        &["--batch-size", "8"],
        &["--lr", "0.1"],
        &["--optimizer", "adam"],
        &["--momentum", "0.9"],
        &["--dampening", "0.1"],
        &["--nesterov"],
        &["--weight-decay", "0.1"],
        &["--beta1", "0.8"],
        &["--beta2", "0.99"],
        &["--eps", "1e-6"],
        &["--amsgrad"],
        &["--seed", "3"],
        &["--device", "cpu"],
        &["--threads", "1"],
        &["--out", out],
        &["--init", "x.safetensors"],
        &["--no-shuffle"],
        &["--checkpoint-every", "2"],
        &["--on-nonfinite", "stop"],
        &["--accumulate", "2"],
        &["--ignore-index", "0"],
        &["--class-weights", "1,2"],
        &["--label-smoothing", "0.1"],
        &["--pos-weight", "2"],
    ];
    for extra in with_resume {
        let mut c = case(
            format!("--resume with {}", extra[0]),
            &[&["train", "--resume", run][..], extra].concat(),
            "--resume continues the run",
        );
        c.guard = Some(base.to_path_buf());
        cases.push(c);
    }
    let invalid: &[(&[&str], &'static str)] = &[
        (
            &["--nesterov", "--momentum", "0.9", "--dampening", "0.5"],
            "Nesterov momentum requires",
        ),
        (
            &["--checkpoint-every", "0"],
            "--checkpoint-every must be at least 1",
        ),
        (
            &["--on-nonfinite", "ignore"],
            "invalid --on-nonfinite 'ignore'",
        ),
        (&["--beta1", "1.0", "--optimizer", "adam"], "invalid beta1"),
        (&["--eps", "-1", "--optimizer", "adam"], "invalid eps"),
        (&["--weight-decay", "-0.1"], "invalid weight decay"),
        (&["--weight-decay", "nan"], "invalid weight decay"),
        (&["--momentum", "inf"], "invalid momentum"),
        (&["--lr=-inf"], "invalid learning rate"),
        (&["--device", "cuda:x"], "invalid device 'cuda:x'"),
        (&["--device", ""], "invalid device ''"),
        (
            &["--init", "/nonexistent/w.safetensors"],
            "/nonexistent/w.safetensors",
        ),
        (
            &["--clip-grad-norm", "-1"],
            "--clip-grad-norm must be finite and > 0, got -1",
        ),
        (
            &["--clip-grad-value", "nan"],
            "--clip-grad-value must be finite and > 0",
        ),
        (
            &["--clip-grad-norm", "1", "--clip-norm-type", "0"],
            "--clip-norm-type must be a p > 0 or inf",
        ),
        (
            &["--clip-grad-norm", "1", "--clip-grad-value", "1"],
            "choose one",
        ),
        (
            &["--scheduler", "StepLR(step_size=1, gama=0.5)"],
            "unknown keyword 'gama' for StepLR (valid: step_size, gamma, last_epoch)",
        ),
        (
            &["--scheduler", "WarmupLR()"],
            "unknown scheduler 'WarmupLR'",
        ),
        (&["--scheduler", "StepLR(step_size=1"], "StepLR"),
        (
            &[
                "--scheduler",
                "ReduceLROnPlateau()",
                "--scheduler-interval",
                "batch",
            ],
            "use --scheduler-interval epoch",
        ),
        (
            &["--optimizer", "Adadelta(rhoo=0.9)"],
            "unknown field `rhoo`, expected one of `lr`, `rho`, `eps`, `weight_decay`, `maximize`",
        ),
        (
            &["--optimizer", "Lion(lr=1e-4)"],
            "unknown optimizer 'Lion' (expected SGD, Adam, AdamW, Adadelta",
        ),
        (
            &["--optimizer", "RMSprop(alpha=-0.5)"],
            "Invalid alpha value",
        ),
        (
            &["--optimizer", "SGD(lr=0.1)", "--momentum", "0.9"],
            "write momentum=… in it",
        ),
        (
            &["--optimizer", "adadelta", "--amsgrad"],
            "--amsgrad does not apply to --optimizer adadelta",
        ),
        (&["--optimizer", "muon"], "Muon"),
        (
            &["--param-group", "*.nothing: lr=0.1"],
            "--param-group \"*.nothing\" selects no parameter",
        ),
        (&["--param-group", "*.bias lr=0.1"], "expected SELECT: SPEC"),
        (&["--param-group", "*.bias: wd=0"], "unknown field `wd`"),
        (
            &["--param-group", "*.bias: Lion(lr=1)"],
            "unknown optimizer 'Lion'",
        ),
        (
            &["--scheduler-interval", "step"],
            "invalid --scheduler-interval 'step' (expected epoch or batch)",
        ),
        (
            &["--accumulate", "0"],
            "--accumulate must be at least 1, got 0",
        ),
        (
            &["--class-weights", "1,2,3"],
            "--class-weights has 3 weights but the model outputs 10 classes",
        ),
        (
            &["--class-weights", "1,1,1,1,-1,1,1,1,1,1"],
            "--class-weights must be finite and >= 0, got -1",
        ),
        (
            &["--class-weights", "1,nan,1,1,1,1,1,1,1,1"],
            "--class-weights must be finite and >= 0, got NaN",
        ),
        (
            &["--class-weights", "0,0,0,0,0,0,0,0,0,0"],
            "--class-weights are all 0",
        ),
        (&["--class-weights", "1,,2"], "--class-weights"),
        (
            &["--experiment", "linear-regression", "--ignore-index", "-1"],
            "--ignore-index applies to cross-entropy and nll, not --loss mse",
        ),
        (
            &["--experiment", "breast-cancer", "--class-weights", "1,2"],
            "--class-weights applies to cross-entropy and nll, not --loss bce-with-logits",
        ),
        (
            &["--pos-weight", "2"],
            "--pos-weight applies to bce-with-logits, not --loss cross-entropy",
        ),
        (
            &["--experiment", "breast-cancer", "--pos-weight", "1,2,3"],
            "--pos-weight has 3 values but the model's output [1, 1] has 1 in its last dimension",
        ),
        (
            &["--experiment", "breast-cancer", "--pos-weight", "-2"],
            "--pos-weight must be finite and >= 0, got -2",
        ),
        (
            &["--label-smoothing", "1.5"],
            "--label-smoothing must be in [0, 1], got 1.5",
        ),
        (
            &["--label-smoothing=-0.1"],
            "--label-smoothing must be in [0, 1], got -0.1",
        ),
        (
            &["--label-smoothing", "nan"],
            "--label-smoothing must be in [0, 1], got NaN",
        ),
        (
            &["--loss", "nll", "--label-smoothing", "0.1"],
            "--label-smoothing applies to cross-entropy, not --loss nll",
        ),
        (
            &["--loss", "mse", "--label-smoothing", "0.1"],
            "--label-smoothing applies to cross-entropy, not --loss mse",
        ),
    ];
    for (args, needle) in invalid {
        cases.push(case(
            format!("flags {args:?}"),
            &[&["train", "--epochs", "1", "--out", out][..], args].concat(),
            *needle,
        ));
    }
    let (empty, file) = (dir.join("empty"), dir.join("file.txt"));
    let not_runs: &[(&str, &'static str)] = &[
        ("/nonexistent/run", "not a run directory"),
        (empty.to_str().unwrap(), "not a run directory"),
        (file.to_str().unwrap(), "not a run directory"),
    ];
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    std::fs::write(dir.join("file.txt"), "x").unwrap();
    for (path, needle) in not_runs {
        cases.push(case(
            format!("--resume {path}"),
            &["train", "--resume", path],
            *needle,
        ));
    }
    cases
}
