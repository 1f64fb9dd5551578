//! Issue 24, items 1, 7 and 10: hyper-parameters beyond float32, non-finite values in a
//! `--config` file, and `--optimizer adafactor`'s defaults.
use crate::common::{assert_clean_error, run_bin, tempdir};

fn train(out: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let out = out.to_str().unwrap();
    let mut args = vec![
        "train",
        "--experiment",
        "linear-regression",
        "--epochs",
        "1",
        "--out",
        out,
    ];
    args.extend_from_slice(extra);
    run_bin(&args)
}

#[test]
fn floats_beyond_float32_are_one_line_errors() {
    let dir = tempdir();
    let cases: &[(&[&str], &str)] = &[
        (&["--lr", "1e39"], "lr=1e39 is out of range"),
        (&["--lr", "3.5e38"], "lr=3.5e38 is out of range"),
        (
            &["--optimizer", "sgd", "--momentum", "1e308"],
            "momentum=1e308 is out of range",
        ),
        (
            &["--optimizer", "SGD(lr=1e300)"],
            "lr=1e300 is out of range",
        ),
        (
            &["--scheduler", "ExponentialLR(gamma=1e308)"],
            "beyond float32's range",
        ),
    ];
    for (i, (extra, needle)) in cases.iter().enumerate() {
        let out = train(&dir.path().join(format!("run{i}")), extra);
        assert_clean_error(&out, needle);
        assert_eq!(out.status.code(), Some(1), "{extra:?}");
    }
    let config = dir.path().join("big.toml");
    std::fs::write(&config, "[optimizer]\nkind = \"sgd\"\nlr = 1e300\n").unwrap();
    let out = train(
        &dir.path().join("file"),
        &["--config", config.to_str().unwrap()],
    );
    assert_clean_error(&out, "lr=1e300 is out of range");
}

#[test]
fn non_finite_values_in_a_config_file_are_errors() {
    let dir = tempdir();
    for (i, (key, text)) in [
        ("clip_grad_norm", "clip_grad_norm = nan"),
        ("clip_grad_norm", "clip_grad_norm = inf"),
        ("clip_grad_value", "clip_grad_value = nan"),
        ("label_smoothing", "label_smoothing = nan"),
        ("optimizer.lr", "[optimizer]\nkind = \"sgd\"\nlr = nan"),
        ("optimizer.lr", "[optimizer]\nkind = \"adam\"\nlr = -inf"),
    ]
    .iter()
    .enumerate()
    {
        let config = dir.path().join(format!("c{i}.toml"));
        std::fs::write(&config, format!("{text}\n")).unwrap();
        let out = train(
            &dir.path().join(format!("run{i}")),
            &["--config", config.to_str().unwrap()],
        );
        assert_clean_error(&out, &format!("{key} = "));
        assert_clean_error(&out, "is not a finite number");
        assert!(!dir.path().join(format!("run{i}")).exists(), "{text}");
    }
}

#[test]
fn optimizer_adafactor_by_name_trains_with_adafactors_defaults() {
    let dir = tempdir();
    let read = |name: &str, extra: &[&str]| {
        let out = train(&dir.path().join(name), extra);
        assert!(out.status.success(), "{}", crate::common::text(&out));
        let text = std::fs::read_to_string(dir.path().join(name).join("config.json")).unwrap();
        let json: serde_json::Value = serde_json::from_str(&text).unwrap();
        json["config"]["optimizer"].clone()
    };
    let by_name = read("name", &["--optimizer", "adafactor", "--lr", "0.01"]);
    let by_call = read("call", &["--optimizer", "Adafactor()"]);
    assert_eq!(by_name, by_call);
    assert_eq!(by_name["eps"], serde_json::json!([null, 0.001]));
}

#[test]
fn clap_errors_are_one_line_and_long_input_is_cut() {
    for args in [&["train", "--bogus"][..], &["train", "--epochs", "x"][..]] {
        let out = run_bin(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
        assert!(stderr.starts_with("error: "), "{stderr}");
    }
    let out = run_bin(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    let name = "a".repeat(100_000);
    let out = run_bin(&["train", "--experiment", &name]);
    assert_clean_error(&out, "error: ");
    assert!(out.stderr.len() < 2000, "{} bytes", out.stderr.len());
}

/// Issue 24: every float that becomes a float32 scalar or tensor is checked where it is parsed,
/// from flags and from `--config` files alike, naming the flag and the range.
#[test]
fn clipping_and_loss_weights_beyond_float32_are_one_line_errors() {
    let dir = tempdir();
    let cases: &[(&str, &str, &str)] = &[
        ("--clip-grad-norm", "1e39", "clip_grad_norm = 1e39"),
        ("--clip-grad-value", "1e39", "clip_grad_value = 1e39"),
        ("--clip-norm-type", "1e39", "clip_norm_type = 1e39"),
        ("--class-weights", "1e39", "class_weights = [1e39]"),
        ("--pos-weight", "1e39", "pos_weight = [1e39]"),
    ];
    for (i, (flag, value, toml)) in cases.iter().enumerate() {
        let experiment = match *flag {
            "--class-weights" => ["--experiment", "digits-mlp"],
            "--pos-weight" => ["--experiment", "breast-cancer"],
            _ => ["--experiment", "linear-regression"],
        };
        let needle = format!("{flag} 1e39 is out of range");
        let out = run_train(
            &dir.path().join(format!("flag{i}")),
            &[&experiment[..], &[flag, value]].concat(),
        );
        assert_clean_error(&out, &needle);
        assert_eq!(out.status.code(), Some(1), "{flag}");
        let config = dir.path().join(format!("c{i}.toml"));
        std::fs::write(&config, format!("{toml}\n")).unwrap();
        let args = [&experiment[..], &["--config", config.to_str().unwrap()]].concat();
        let out = run_train(&dir.path().join(format!("file{i}")), &args);
        assert_clean_error(&out, &needle);
        assert!(!dir.path().join(format!("file{i}")).exists(), "{toml}");
    }
    let out = run_bin(&[
        "train",
        "--nproc",
        "1",
        "--dist-timeout",
        "1e300",
        "--epochs",
        "1",
    ]);
    assert_clean_error(&out, "--dist-timeout 1e300 is out of range");
}

/// Issue 24: a message quotes user text cut to a readable length, and still names the flag. A
/// 100 KB argument (Linux refuses single arguments over 128 KiB) to each free-text flag, and a
/// 1 MB one through a `--config` file, give an error line under 400 characters.
#[test]
fn huge_user_text_is_cut_in_error_messages() {
    let dir = tempdir();
    let huge = "x(".repeat(50_000);
    let data = crate::own_fixture::fixture().data("mse");
    let cases: &[(&[&str], &str)] = &[
        (&["--experiment", &huge], "unknown experiment"),
        (&["--scheduler", &huge], "--scheduler"),
        (&["--optimizer", &huge], "--optimizer"),
        (&["--param-group", &huge], "--param-group"),
        (
            &["--optimizer", &huge, "--momentum", "0.9"],
            "--momentum cannot be combined",
        ),
        (
            &["--model", "m.pt", "--data", &huge, "--loss", "mse"],
            "x(x(",
        ),
        (
            &["--model", &huge, "--data", &data, "--loss", "mse"],
            "x(x(",
        ),
        (&["--init", &huge], "x(x("),
        (&["--config", &huge], "x(x("),
        (&["--loss", &huge], "unknown loss"),
    ];
    for (i, (extra, needle)) in cases.iter().enumerate() {
        let out = run_train(&dir.path().join(format!("run{i}")), extra);
        let line = assert_short_error(&out);
        assert!(line.contains(needle), "{:?}: {line}", &extra[0]);
    }
    let out_flag = run_bin(&[
        "train",
        "--epochs",
        "1",
        "--out",
        &format!("/nonexistent/{huge}"),
    ]);
    assert_short_error(&out_flag);
    let mega = "y".repeat(1 << 20);
    for (key, needle) in [
        ("experiment", "unknown experiment"),
        ("scheduler", "--scheduler"),
        ("loss", "unknown loss"),
    ] {
        let config = dir.path().join(format!("{key}.json"));
        std::fs::write(&config, serde_json::json!({ key: mega }).to_string()).unwrap();
        let out = run_train(
            &dir.path().join(key),
            &["--config", config.to_str().unwrap()],
        );
        let line = assert_short_error(&out);
        assert!(line.contains(needle), "{key}: {line}");
    }
}

/// `train` for one epoch into `out` with `extra` (the default experiment unless it names one).
fn run_train(out: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let out = out.to_str().unwrap();
    run_bin(&[&["train", "--epochs", "1", "--out", out][..], extra].concat())
}

/// The one error line of a failed run, under 400 characters.
fn assert_short_error(out: &std::process::Output) -> String {
    assert_eq!(out.status.code(), Some(1), "{}", crate::common::text(out));
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    let start: String = stderr.chars().take(500).collect();
    assert_eq!(stderr.lines().count(), 1, "{start}");
    assert!(
        stderr.chars().count() < 400,
        "{} chars: {start}",
        stderr.len()
    );
    stderr
}
