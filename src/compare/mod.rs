//! `compare`: train with the harness and with the PyTorch reference (`scripts/reference.py`) on the
//! same settings, then diff their epoch values. `diff` does the second half alone, on two runs
//! that already exist (see [`diff`]).
//!
//! `<out>/reference` and `<out>/harness` are ordinary run directories; `<out>/compare.json` holds
//! the rows and the verdict, `<out>/losses.png` both runs' curves.
mod diff;
mod divergence;
mod home;
mod python;
mod rows;
mod table;

pub use diff::{diff, diff_dir, DiffOutcome};
pub use divergence::{first_divergence, trace_divergence, Difference, Divergence};

pub use home::{find_home, home_from, resolve_program, HOME_VAR};
pub use python::{PythonEnv, SETUP_HINT};
pub use rows::{
    compare_labelled, compare_records, relative_difference, validate_tolerance, Comparison, Labels,
    Pair, Row, COMPARED,
};
pub use table::render_table;

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::atomic::write_atomic;
use crate::config::TrainConfig;
use crate::distributed::{launch, Backend, LaunchPlan};
use crate::error::{Error, Result};
use crate::interrupt::StopFlag;
use crate::progress::Progress;
use crate::run::{
    check_backend, fresh_path, prepare, read_metrics, start, CONFIG_FILE, LIBTORCH_VERSION,
    METRICS_FILE,
};

/// The comparison's JSON file, in the output folder.
pub const COMPARE_FILE: &str = "compare.json";
/// The loss curves, in the output folder.
pub const PLOT_FILE: &str = "losses.png";
/// The configuration both sides train from (`{"config": …}`, as in a run's `config.json`), in
/// the output folder: `scripts/reference.py --config` reads it.
pub const SHARED_CONFIG_FILE: &str = "train-config.json";

/// What a finished comparison left behind.
#[derive(Debug)]
pub struct CompareOutcome {
    pub dir: PathBuf,
    pub comparison: Comparison,
    /// The traces' first divergence, when both sides traced (`--trace`).
    pub divergence: Option<Divergence>,
}

/// Runs the reference, then the harness, into `out` (or a fresh `runs/compare-<experiment>-…`),
/// compares them and writes `compare.json` and `losses.png`. A difference beyond `tolerance` is
/// not an error here: it is in the returned [`Comparison`].
pub fn compare(
    config: &TrainConfig,
    out: Option<&Path>,
    python: &PythonEnv,
    tolerance: f64,
    progress: &mut dyn Progress,
) -> Result<CompareOutcome> {
    compare_job(config, out, python, tolerance, 1, None, progress)
}

/// [`compare`] with `nproc` processes on each side: the harness's `train --nproc N` (this
/// program, started again) against `reference.py --nproc N` (torch.distributed, Gloo), which
/// runs the same distributed arithmetic. `backend` names the harness's c10d backend (its
/// default: NCCL on CUDA, Gloo on the CPU); given with one process, the harness runs as a group
/// of one on it.
pub fn compare_job(
    config: &TrainConfig,
    out: Option<&Path>,
    python: &PythonEnv,
    tolerance: f64,
    nproc: usize,
    backend: Option<Backend>,
    progress: &mut dyn Progress,
) -> Result<CompareOutcome> {
    validate_tolerance(tolerance)?;
    if let Some(backend) = backend {
        // Before the reference trains: an impossible backend fails first, in one line.
        check_backend(backend, config.runtime().device().resolve()?)?;
    }
    python.check()?;
    // A wrong experiment or --init file, or a model with nothing to train, gets the harness's
    // own message before any run; the experiment built here is the one trained below.
    let experiment = prepare(config)?;
    let dir = match out {
        Some(p) => p.to_path_buf(),
        None => fresh_path(
            Path::new("runs"),
            &format!("compare-{}", config.experiment().source()),
        ),
    };
    let (harness_dir, reference_dir) = (dir.join("harness"), dir.join("reference"));
    if dir.join(COMPARE_FILE).exists()
        || harness_dir.join(CONFIG_FILE).exists()
        || reference_dir.join(CONFIG_FILE).exists()
    {
        return Err(Error::file(
            &dir,
            "already holds a comparison; choose another --out",
        ));
    }
    std::fs::create_dir_all(&dir)
        .map_err(|e| Error::file(&dir, format!("cannot create the folder ({e})")))?;

    // One definition for both sides: the reference reads the configuration the harness trains.
    let shared = dir.join(SHARED_CONFIG_FILE);
    write_report(&shared, &json!({ "config": config }))?;
    // The reference first: a broken Python env then fails before any training.
    progress.message(&format!(
        "reference: {} {} --config {}",
        python.python.display(),
        python.reference.display(),
        shared.display()
    ));
    python.run_reference(&shared, &reference_dir, nproc, &mut |line| {
        progress.message(&format!("reference | {line}"))
    })?;
    if nproc > 1 || backend.is_some() {
        let mut args = vec![
            "train".to_string(),
            "--config".into(),
            path_arg(&shared)?,
            "--out".into(),
            path_arg(&harness_dir)?,
        ];
        if let Some(backend) = backend {
            args.extend(["--backend".into(), backend.name().into()]);
        }
        let plan = LaunchPlan {
            nproc,
            master_port: None,
            args: args.into_iter().map(Into::into).collect(),
        };
        match launch(&plan, &StopFlag::new())? {
            0 => {}
            code => {
                return Err(Error::Distributed(format!(
                    "the harness's workers exited with status {code}"
                )))
            }
        }
    } else {
        start(
            experiment,
            config,
            Some(&harness_dir),
            &StopFlag::new(),
            progress,
            None,
        )?;
    }

    let harness = read_metrics(&harness_dir.join(METRICS_FILE))?;
    let reference = read_metrics(&reference_dir.join(METRICS_FILE))?;
    let comparison = compare_records(&harness, &reference, tolerance)?;

    let mut report = comparison.to_json();
    report["command"] = json!("compare");
    report["experiment"] = json!(config.experiment().source().name());
    report["config"] = json!(config);
    report["harness_dir"] = json!(harness_dir);
    report["reference_dir"] = json!(reference_dir);
    report["libtorch_version"] = json!(LIBTORCH_VERSION);
    report["torch_version"] = reference_torch_version(&reference_dir);
    let divergence = trace_divergence(&harness_dir, &reference_dir)?;
    report["divergence"] = json!(divergence);
    let compare_json = dir.join(COMPARE_FILE);
    write_report(&compare_json, &report)?;
    python.plot(&compare_json, &dir.join(PLOT_FILE))?;
    Ok(CompareOutcome {
        dir,
        comparison,
        divergence,
    })
}

/// Writes `value` as pretty-printed JSON to `path`, atomically.
fn write_report(path: &Path, value: &Value) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value).map_err(|e| Error::file(path, e))?;
    text.push('\n');
    write_atomic(path, text.as_bytes())
}

/// The PyTorch version the reference ran on, from its `config.json` (`null` if unreadable).
fn reference_torch_version(reference_dir: &Path) -> Value {
    crate::bounded::read_to_string(
        &reference_dir.join(CONFIG_FILE),
        crate::bounded::CONFIG_LIMIT,
    )
    .ok()
    .and_then(|text| serde_json::from_str::<Value>(&text).ok())
    .and_then(|v| v.get("torch_version").cloned())
    .unwrap_or(Value::Null)
}

/// A path as a command-line argument of a worker.
fn path_arg(path: &Path) -> Result<String> {
    path.to_str()
        .map(str::to_string)
        .ok_or_else(|| Error::file(path, "not a UTF-8 path"))
}
