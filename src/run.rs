//! A whole training run as the CLI starts it: check the configuration, build the experiment,
//! create the run directory, train, save the weights.
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::config::TrainConfig;
use crate::device::device_name;
use crate::error::{Error, Result};
use crate::experiment::{Builtin, Experiment};
use crate::optim::optimizer;
use crate::progress::Progress;
use crate::run_dir::{RunDir, CONFIG_FILE, WEIGHTS_FILE};
use crate::tensor_file::write_tensors;
use crate::train::{fit, EpochRecord};

/// The tch version this binary was built with.
pub const TCH_VERSION: &str = "0.24.0";
/// The libtorch (PyTorch) version this binary was built against.
pub const LIBTORCH_VERSION: &str = env!("TCH_HARNESS_LIBTORCH_VERSION");

/// What a finished run left behind.
#[derive(Debug)]
pub struct TrainOutcome {
    pub run_dir: PathBuf,
    pub records: Vec<EpochRecord>,
}

/// Builds the experiment a configuration names, on `device`, with its initial weights.
pub fn build_experiment(config: &TrainConfig, device: tch::Device) -> Result<Experiment> {
    let builtin: Builtin = config.experiment.parse()?;
    let mut experiment = builtin.build(config.seed, device)?;
    if let Some(init) = &config.init {
        experiment.load_state_dict_file(init)?;
    }
    Ok(experiment)
}

/// Applies `--threads` to libtorch.
pub fn apply_threads(threads: Option<i32>) {
    if let Some(n) = threads {
        tch::set_num_threads(n);
    }
}

/// Runs `config` end to end, writing into `out` (or a fresh folder under `runs/`).
pub fn train(
    config: &TrainConfig,
    out: Option<&Path>,
    progress: &mut dyn Progress,
) -> Result<TrainOutcome> {
    config.validate()?;
    apply_threads(config.threads);
    let device = config.device.resolve()?;
    let mut experiment = build_experiment(config, device)?;
    let run = RunDir::create(out, &experiment.name)?;
    run.write_json(
        CONFIG_FILE,
        &json!({
            "config": config,
            "device": device_name(device),
            "threads": tch::get_num_threads(),
            "tch_version": TCH_VERSION,
            "libtorch_version": LIBTORCH_VERSION,
            "harness_version": env!("CARGO_PKG_VERSION"),
            "train_samples": experiment.data.train.len(),
            "eval_samples": experiment.data.eval.as_ref().map(|s| s.len()),
        }),
    )?;
    progress.message(&format!(
        "training {} on {} ({} train samples, batch {}), run directory {}",
        experiment.name,
        device_name(device),
        experiment.data.train.len(),
        config.batch_size,
        run.path().display()
    ));
    let mut optimizer = optimizer(&config.optimizer, experiment.parameters())?;
    let mut log = run.metrics_log()?;
    let summary = fit(
        &mut experiment,
        optimizer.as_mut(),
        config,
        Some(&mut log),
        progress,
    )?;
    log.sync()?;
    write_tensors(&run.file(WEIGHTS_FILE), &experiment.state_dict(), None)
        .map_err(|e| Error::Config(format!("saving weights: {e}")))?;
    Ok(TrainOutcome {
        run_dir: run.path().to_path_buf(),
        records: summary.records,
    })
}
