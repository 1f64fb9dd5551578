//! `train`'s flags in `config.json`'s keys: what the library's one parse reads (alone, or under a
//! `--config` file's keys).
use serde_json::{json, Map, Value};
use tch_harness::config::TORCHSCRIPT;
use tch_harness::metrics::MetricSpec;
use tch_harness::optim::{OptimizerConfig, ParamGroup};

use super::train_args::TrainArgs;

impl TrainArgs {
    /// The flags in `config.json`'s keys, defaults included, with `optimizer` and no parameter
    /// groups (they are parsed on the final optimizer, which a `--config` file may change).
    pub(super) fn to_wire(
        &self,
        optimizer: &OptimizerConfig,
    ) -> anyhow::Result<Map<String, Value>> {
        let experiment = match &self.model {
            Some(_) => TORCHSCRIPT,
            None => &self.experiment,
        };
        let l = &self.loss_args;
        let b = &self.runtime.backends;
        let wire = json!({
            "experiment": experiment,
            "model": self.model,
            "data": self.data,
            "loss": self.loss,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "optimizer": optimizer,
            "param_groups": [],
            "seed": self.seed,
            "device": self.runtime.device,
            "threads": self.runtime.threads,
            "shuffle": !self.no_shuffle,
            "init": self.init,
            "init_key": self.init_key,
            "save_format": self.save_format,
            "checkpoint_every": self.checkpoint_every,
            "on_nonfinite": self.on_nonfinite,
            "loss_sync": self.loss_sync,
            "scheduler": self.scheduler,
            "scheduler_interval": self.scheduler_interval,
            "clip_grad_norm": optional("--clip-grad-norm", self.clip_grad_norm, "must be finite and > 0")?,
            "clip_norm_type": norm_type(self.clip_norm_type)?,
            "clip_grad_value": optional("--clip-grad-value", self.clip_grad_value, "must be finite and > 0")?,
            "accumulate": self.accumulate,
            "grad_scaler": self.grad_scaler,
            "trace": self.trace,
            "ema": self.ema,
            "ema_use_buffers": self.ema_use_buffers,
            "swa": self.swa,
            "precision": self.runtime.precision,
            "ignore_index": l.ignore_index,
            "class_weights": weights("--class-weights", &l.class_weights)?,
            "pos_weight": weights("--pos-weight", &l.pos_weight)?,
            "label_smoothing": optional("--label-smoothing", l.label_smoothing, "must be in [0, 1]")?,
            "metrics": metric_names(self.metrics.as_deref())?,
            "early_stopping": self.early_stopping,
            "model_checkpoint": self.checkpoint,
            "logger": self.logger,
            "log_every_n_steps": self.log_every_n_steps,
            "sync_batchnorm": on_off("--sync-batchnorm", &self.sync_batchnorm)?,
        });
        let Value::Object(mut wire) = wire else {
            unreachable!("an object literal")
        };
        // Apart: one more key in the literal above passes json!'s recursion limit.
        wire.extend([
            ("deterministic".into(), json!(b.deterministic)),
            (
                "bucket_cap_mb".into(),
                optional(
                    "--bucket-cap-mb",
                    self.bucket_cap_mb,
                    "must be a positive number of MiB",
                )?,
            ),
            ("cudnn_benchmark".into(), json!(b.cudnn_benchmark)),
            ("cudnn_allow_tf32".into(), json!(b.cudnn_allow_tf32)),
            (
                "float32_matmul_precision".into(),
                json!(b.float32_matmul_precision),
            ),
        ]);
        Ok(wire)
    }

    /// `--param-group`s on top of `optimizer`, as config.json writes them.
    pub(super) fn param_groups(&self, optimizer: &OptimizerConfig) -> anyhow::Result<Value> {
        let groups: Vec<ParamGroup> = self
            .param_group
            .iter()
            .map(|g| ParamGroup::parse(g, optimizer))
            .collect::<Result<_, _>>()?;
        Ok(serde_json::to_value(groups)?)
    }
}

/// A float flag as JSON, which has no NaN or infinity (they would become `null`, turning the
/// setting off): refused here with the range the parse would name.
fn finite(flag: &str, v: f64, range: &str) -> anyhow::Result<Value> {
    if !v.is_finite() {
        anyhow::bail!("{flag} {range}, got {v}");
    }
    Ok(json!(v))
}

fn optional(flag: &str, v: Option<f64>, range: &str) -> anyhow::Result<Value> {
    v.map_or(Ok(Value::Null), |v| finite(flag, v, range))
}

/// Class or positive weights, each finite.
fn weights(flag: &str, values: &Option<Vec<f64>>) -> anyhow::Result<Value> {
    let Some(values) = values else {
        return Ok(Value::Null);
    };
    let checked = values
        .iter()
        .map(|v| finite(flag, *v, "must be finite and >= 0"));
    Ok(Value::Array(checked.collect::<anyhow::Result<_>>()?))
}

/// An `on|off` flag as a boolean.
fn on_off(flag: &str, value: &str) -> anyhow::Result<Value> {
    match value {
        "on" => Ok(json!(true)),
        "off" => Ok(json!(false)),
        other => anyhow::bail!("{flag} must be on or off, got '{other}'"),
    }
}

/// `--clip-norm-type`: a number, or `"inf"` as config.json spells infinity.
fn norm_type(p: f64) -> anyhow::Result<Value> {
    match p {
        f64::INFINITY => Ok(json!("inf")),
        p => finite("--clip-norm-type", p, "must be a p > 0 or inf"),
    }
}

/// `--metrics "top5_accuracy, macro_f1"` as config.json's list of names (checked here, so a
/// bad name is refused naming the flag).
fn metric_names(list: Option<&str>) -> anyhow::Result<Value> {
    let specs = MetricSpec::parse_list(list.unwrap_or(""))?;
    Ok(json!(specs
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()))
}
