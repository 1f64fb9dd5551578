//! `diff`: two runs that already exist, compared as `compare` compares its two — for instance a
//! Rust port's run against the user's own PyTorch run writing the same `metrics.jsonl` format
//! (see docs/diff.md). Run A takes the harness's side of the table, run B the reference's.
//!
//! The report goes to `--out`, by default `RUN_A/diff-<name of RUN_B>`: next to the run it
//! checks, one folder per run it was checked against, replaced when the diff is run again.
use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::divergence::{trace_divergence, Divergence};
use super::python::PythonEnv;
use super::rows::{compare_labelled, validate_tolerance, Comparison, Labels};
use super::{write_report, COMPARE_FILE, PLOT_FILE};
use crate::error::{Error, Result};
use crate::run::{read_metrics, METRICS_FILE};

/// What a finished diff left behind.
#[derive(Debug)]
pub struct DiffOutcome {
    /// Where `compare.json` (and the plot) went.
    pub dir: PathBuf,
    pub comparison: Comparison,
    /// Why the Python given could not draw `losses.png` (no matplotlib…): a warning, not a
    /// failure.
    pub plot_error: Option<Error>,
    /// The traces' first divergence, when both runs have a trace.jsonl.
    pub divergence: Option<Divergence>,
}

/// The default output folder: `RUN_A/diff-<name of RUN_B>`.
pub fn diff_dir(run_a: &Path, run_b: &Path) -> PathBuf {
    run_a.join(format!("diff-{}", short_name(run_b)))
}

/// Compares the `metrics.jsonl` of `run_a` and `run_b` epoch by epoch and writes `compare.json`
/// into `out` (default [`diff_dir`]), then `losses.png` when `python` is given and can draw it. A difference
/// beyond `tolerance` is not an error here: it is in the returned [`Comparison`].
pub fn diff(
    run_a: &Path,
    run_b: &Path,
    out: Option<&Path>,
    tolerance: f64,
    python: Option<&PythonEnv>,
) -> Result<DiffOutcome> {
    validate_tolerance(tolerance)?;
    let a = read_run(run_a, "run A")?;
    let b = read_run(run_b, "run B")?;
    let labels = Labels {
        harness: "run A".into(),
        reference: "run B".into(),
    };
    let comparison = compare_labelled(&a, &b, tolerance, labels).map_err(|e| {
        Error::Data(format!(
            "{e} (run A: {}, run B: {})",
            run_a.display(),
            run_b.display()
        ))
    })?;

    let dir = out.map_or_else(|| diff_dir(run_a, run_b), Path::to_path_buf);
    refuse_other_reports(&dir)?;
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::file(&dir, format!("cannot create the folder ({e})")))?;
    let mut report = comparison.to_json();
    report["command"] = json!("diff");
    report["title"] = json!(format!(
        "run A ({}) vs run B ({})",
        short_name(run_a),
        short_name(run_b)
    ));
    report["harness_dir"] = json!(run_a);
    report["reference_dir"] = json!(run_b);
    let divergence = trace_divergence(run_a, run_b)?;
    report["divergence"] = json!(divergence);
    let compare_json = dir.join(COMPARE_FILE);
    write_report(&compare_json, &report)?;
    // A plot from an earlier diff would no longer match compare.json.
    let png = dir.join(PLOT_FILE);
    let _ = std::fs::remove_file(&png);
    let plot_error = python.and_then(|p| p.plot(&compare_json, &png).err());
    Ok(DiffOutcome {
        dir,
        comparison,
        plot_error,
        divergence,
    })
}

/// A run's records, with one-line errors for a missing folder, a missing or empty file, and a
/// torn line.
fn read_run(dir: &Path, label: &str) -> Result<Vec<Value>> {
    if !dir.is_dir() {
        return Err(Error::file(dir, format!("{label}: no such run directory")));
    }
    let path = dir.join(METRICS_FILE);
    if !path.is_file() {
        return Err(Error::file(
            &path,
            format!("{label} has no {METRICS_FILE} (one JSON record per epoch; see docs/diff.md)"),
        ));
    }
    let records = read_metrics(&path)?;
    if records.is_empty() {
        return Err(Error::file(&path, format!("{label} holds no epochs")));
    }
    Ok(records)
}

/// `diff` replaces its own earlier report, never a `compare.json` that `compare` wrote.
fn refuse_other_reports(dir: &Path) -> Result<()> {
    let Ok(text) =
        crate::bounded::read_to_string(&dir.join(COMPARE_FILE), crate::bounded::CONFIG_LIMIT)
    else {
        return Ok(());
    };
    let command = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v.get("command").cloned());
    if command == Some(json!("diff")) {
        return Ok(());
    }
    Err(Error::file(
        dir,
        "already holds a compare.json that diff did not write; choose another --out",
    ))
}

/// The last component of a run's path (`runs/x/` and `.` included), for names and titles.
fn short_name(dir: &Path) -> String {
    let full = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    full.file_name()
        .map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into())
}
