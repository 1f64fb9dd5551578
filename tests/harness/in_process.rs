//! examples/in_process_overhead.rs, the overhead measured in one process: a round per line with
//! both programs' times, the summary line, and its refusals. (The figures are its job, reported
//! in docs/performance.md; here only that it runs both loops and says what it measured.)
use std::path::PathBuf;
use std::process::{Command, Output};

use crate::common::{bin, root, text};

fn in_process_overhead(args: &[&str]) -> Output {
    let exe = PathBuf::from(bin().get_program());
    let example = exe.parent().unwrap().join("examples/in_process_overhead");
    assert!(
        example.exists(),
        "cargo test builds examples: {}",
        example.display()
    );
    Command::new(example)
        .args(args)
        .current_dir(root())
        .output()
        .unwrap()
}

#[test]
fn in_process_overhead_reports_each_round_and_the_median() {
    let out = in_process_overhead(&[
        "--rounds",
        "2",
        "--epochs",
        "3",
        "--threads",
        "1",
        "--read-loss",
        "true",
    ]);
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 4, "header, two rounds, summary: {all}");
    for (round, line) in lines[1..3].iter().enumerate() {
        let fields: Vec<f64> = line
            .split_whitespace()
            .map(|f| {
                f.parse()
                    .unwrap_or_else(|_| panic!("not a number in {line:?}"))
            })
            .collect();
        assert_eq!(fields[0], (round + 1) as f64, "{line}");
        let (bare_ms, harness_ms, ratio) = (fields[1], fields[2], fields[3]);
        assert!(bare_ms > 0.0 && harness_ms > 0.0, "{line}");
        assert!((ratio - harness_ms / bare_ms).abs() < 1e-2, "{line}");
    }
    assert!(
        lines[3].starts_with("harness overhead over the bare loop, in one process: ")
            && lines[3].contains("median of 2 rounds"),
        "{all}"
    );
}

#[test]
fn in_process_overhead_refuses_a_single_epoch() {
    let out = in_process_overhead(&["--rounds", "1", "--epochs", "1"]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("needs --epochs 2 or more"),
        "{}",
        text(&out)
    );
}

#[test]
fn in_process_overhead_refuses_a_read_loss_that_is_not_a_bool() {
    let out = in_process_overhead(&["--rounds", "1", "--epochs", "2", "--read-loss", "maybe"]);
    assert!(!out.status.success(), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--read-loss maybe") && stderr.lines().count() == 1,
        "{}",
        text(&out)
    );
}

#[test]
fn in_process_overhead_over_processes_prints_each_and_the_median() {
    let out = in_process_overhead(&[
        "--processes",
        "2",
        "--rounds",
        "1",
        "--epochs",
        "2",
        "--threads",
        "1",
    ]);
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 3, "two processes, the median: {all}");
    for (k, line) in lines[..2].iter().enumerate() {
        let prefix = format!(
            "process {}/2: harness overhead over the bare loop, in one",
            k + 1
        );
        assert!(line.starts_with(&prefix), "{all}");
        assert!(line.contains("median of 1 rounds"), "{all}");
    }
    assert!(
        lines[2].starts_with("harness overhead over the bare loop, median over 2 processes: "),
        "{all}"
    );
    for (value, needle) in [("0", "--processes 1 or more"), ("two", "--processes two")] {
        let refused = in_process_overhead(&["--processes", value, "--epochs", "2"]);
        assert!(!refused.status.success(), "{}", text(&refused));
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(
            stderr.contains(needle) && stderr.lines().count() == 1,
            "{}",
            text(&refused)
        );
    }
}
