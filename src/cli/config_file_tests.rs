//! `FLAG_KEYS` against every flag clap knows: each overrides its `--config` key.
use clap::{CommandFactory, FromArgMatches, Parser};
use serde_json::{json, Value};

use super::FLAG_KEYS;
use crate::cli::TrainArgs;

#[derive(Debug, Parser)]
struct Train {
    #[command(flatten)]
    args: TrainArgs,
}

/// For each flag that sets a key: a `--config` file's value for it, the command line giving
/// another, and the key (a JSON pointer into config.json's `config`) with the flag's value.
fn case(id: &str) -> Option<(Value, Vec<&'static str>, &'static str, Value)> {
    let sgd = json!({"kind": "sgd", "lr": 0.1, "momentum": 0.5, "dampening": 0.1,
                     "weight_decay": 0.1});
    let adam = json!({"kind": "adam", "lr": 0.1, "betas": [0.8, 0.9], "eps": 1e-6});
    let lin = |key: &str, v: Value| json!({"experiment": "linear-regression", key: v});
    let digits = |key: &str, v: Value| json!({"experiment": "digits-mlp", key: v});
    Some(match id {
        "experiment" => (
            lin("epochs", json!(2)),
            vec!["--experiment", "digits-mlp"],
            "/experiment",
            json!("digits-mlp"),
        ),
        "model" | "data" => (
            lin("epochs", json!(2)),
            vec![
                "--model",
                "m.pt",
                "--data",
                "d.safetensors",
                "--loss",
                "mse",
            ],
            if id == "model" { "/model" } else { "/data" },
            json!(if id == "model" {
                "m.pt"
            } else {
                "d.safetensors"
            }),
        ),
        "loss" => (
            lin("loss", json!("l1")),
            vec!["--loss", "mse"],
            "/loss",
            json!("mse"),
        ),
        "ignore_index" => (
            digits("ignore_index", json!(1)),
            vec!["--ignore-index", "2"],
            "/ignore_index",
            json!(2),
        ),
        "class_weights" => (
            digits("class_weights", json!(vec![1.0; 10])),
            vec!["--class-weights", "2,2,2,2,2,2,2,2,2,2"],
            "/class_weights/0",
            json!(2.0),
        ),
        "pos_weight" => (
            json!({"experiment": "breast-cancer", "pos_weight": [1.0]}),
            vec!["--pos-weight", "2"],
            "/pos_weight/0",
            json!(2.0),
        ),
        "label_smoothing" => (
            digits("label_smoothing", json!(0.1)),
            vec!["--label-smoothing", "0.2"],
            "/label_smoothing",
            json!(0.2),
        ),
        "accumulate" => (
            lin("accumulate", json!(2)),
            vec!["--accumulate", "3"],
            "/accumulate",
            json!(3),
        ),
        "trace" => (
            lin("trace", json!(false)),
            vec!["--trace"],
            "/trace",
            json!(true),
        ),
        "epochs" => (
            lin("epochs", json!(2)),
            vec!["--epochs", "3"],
            "/epochs",
            json!(3),
        ),
        "batch_size" => (
            lin("batch_size", json!(8)),
            vec!["--batch-size", "9"],
            "/batch_size",
            json!(9),
        ),
        "optimizer" => (
            lin("optimizer", sgd),
            vec!["--optimizer", "adam"],
            "/optimizer/kind",
            json!("adam"),
        ),
        "lr" => (
            lin("optimizer", sgd),
            vec!["--lr", "0.2"],
            "/optimizer/lr",
            json!(0.2),
        ),
        "momentum" => (
            lin("optimizer", sgd),
            vec!["--momentum", "0.7"],
            "/optimizer/momentum",
            json!(0.7),
        ),
        "dampening" => (
            lin("optimizer", sgd),
            vec!["--dampening", "0.2"],
            "/optimizer/dampening",
            json!(0.2),
        ),
        "nesterov" => (
            lin("optimizer", json!({"kind": "sgd", "momentum": 0.5})),
            vec!["--nesterov"],
            "/optimizer/nesterov",
            json!(true),
        ),
        "weight_decay" => (
            lin("optimizer", sgd),
            vec!["--weight-decay", "0.2"],
            "/optimizer/weight_decay",
            json!(0.2),
        ),
        "beta1" => (
            lin("optimizer", adam),
            vec!["--beta1", "0.7"],
            "/optimizer/betas/0",
            json!(0.7),
        ),
        "beta2" => (
            lin("optimizer", adam),
            vec!["--beta2", "0.95"],
            "/optimizer/betas/1",
            json!(0.95),
        ),
        "eps" => (
            lin("optimizer", adam),
            vec!["--eps", "1e-7"],
            "/optimizer/eps",
            json!(1e-7),
        ),
        "amsgrad" => (
            lin("optimizer", adam),
            vec!["--amsgrad"],
            "/optimizer/amsgrad",
            json!(true),
        ),
        "param_group" => (
            lin("optimizer", sgd),
            vec!["--param-group", "*.bias: lr=0.3"],
            "/param_groups/0/optimizer/lr",
            json!(0.3),
        ),
        "seed" => (
            lin("seed", json!(1)),
            vec!["--seed", "2"],
            "/seed",
            json!(2),
        ),
        "device" => (
            lin("device", json!("cuda")),
            vec!["--device", "cpu"],
            "/device",
            json!("cpu"),
        ),
        "threads" => (
            lin("threads", json!(1)),
            vec!["--threads", "2"],
            "/threads",
            json!(2),
        ),
        "precision" => (
            lin("precision", json!("16-mixed")),
            vec!["--precision", "bf16-mixed"],
            "/precision",
            json!("bf16-mixed"),
        ),
        "deterministic" => (
            lin("deterministic", json!(true)),
            vec!["--deterministic", "false"],
            "/deterministic",
            json!(false),
        ),
        "cudnn_benchmark" => (
            lin("cudnn_benchmark", json!(false)),
            vec!["--cudnn-benchmark"],
            "/cudnn_benchmark",
            json!(true),
        ),
        "cudnn_allow_tf32" => (
            lin("cudnn_allow_tf32", json!(true)),
            vec!["--cudnn-allow-tf32", "off"],
            "/cudnn_allow_tf32",
            json!(false),
        ),
        "float32_matmul_precision" => (
            lin("float32_matmul_precision", json!("high")),
            vec!["--float32-matmul-precision", "medium"],
            "/float32_matmul_precision",
            json!("medium"),
        ),
        "init" => (
            lin("init", json!("a.safetensors")),
            vec!["--init", "b.safetensors"],
            "/init",
            json!("b.safetensors"),
        ),
        "init_key" => (
            json!({"experiment": "linear-regression", "init": "a.pt", "init_key": "model"}),
            vec!["--init-key", "state_dict"],
            "/init_key",
            json!("state_dict"),
        ),
        "save_format" => (
            lin("save_format", json!("safetensors")),
            vec!["--save-format", "pt"],
            "/save_format",
            json!("pt"),
        ),
        "no_shuffle" => (
            lin("shuffle", json!(true)),
            vec!["--no-shuffle"],
            "/shuffle",
            json!(false),
        ),
        "checkpoint_every" => (
            lin("checkpoint_every", json!(2)),
            vec!["--checkpoint-every", "3"],
            "/checkpoint_every",
            json!(3),
        ),
        "on_nonfinite" => (
            lin("on_nonfinite", json!("stop")),
            vec!["--on-nonfinite", "skip-batch"],
            "/on_nonfinite",
            json!("skip-batch"),
        ),
        "loss_sync" => (
            lin("loss_sync", json!("batch")),
            vec!["--loss-sync", "epoch"],
            "/loss_sync",
            json!("epoch"),
        ),
        "scheduler" => (
            lin("scheduler", json!("StepLR(step_size=1)")),
            vec!["--scheduler", "StepLR(step_size=2)"],
            "/scheduler",
            json!("StepLR(step_size=2)"),
        ),
        "scheduler_interval" => (
            lin("scheduler_interval", json!("epoch")),
            vec!["--scheduler-interval", "batch"],
            "/scheduler_interval",
            json!("batch"),
        ),
        "clip_grad_norm" => (
            lin("clip_grad_norm", json!(1.0)),
            vec!["--clip-grad-norm", "2"],
            "/clip_grad_norm",
            json!(2.0),
        ),
        "clip_norm_type" => (
            lin("clip_norm_type", json!(2.0)),
            vec!["--clip-norm-type", "inf"],
            "/clip_norm_type",
            json!("inf"),
        ),
        "clip_grad_value" => (
            lin("clip_grad_value", json!(1.0)),
            vec!["--clip-grad-value", "2"],
            "/clip_grad_value",
            json!(2.0),
        ),
        "metrics" => (
            digits("metrics", json!(["macro_f1"])),
            vec!["--metrics", "top5_accuracy, micro_recall"],
            "/metrics/1",
            json!("micro_recall"),
        ),
        "ema" => (
            lin("ema", json!(0.9)),
            vec!["--ema", "0.5"],
            "/ema",
            json!(0.5),
        ),
        "sync_batchnorm" => (
            lin("sync_batchnorm", json!(true)),
            vec!["--sync-batchnorm", "off"],
            "/sync_batchnorm",
            json!(false),
        ),
        "bucket_cap_mb" => (
            lin("bucket_cap_mb", json!(0.5)),
            vec!["--bucket-cap-mb", "2"],
            "/bucket_cap_mb",
            json!(2.0),
        ),
        "ema_use_buffers" => (
            lin("ema_use_buffers", json!(false)),
            vec!["--ema", "0.5", "--ema-use-buffers"],
            "/ema_use_buffers",
            json!(true),
        ),
        "swa" => (
            lin("swa", json!("SWA(swa_lr=0.1, swa_start=2)")),
            vec!["--swa", "SWA(swa_lr=0.2, swa_start=2)"],
            "/swa",
            json!("SWA(swa_lr=0.2, swa_start=2)"),
        ),
        "early_stopping" => (
            lin(
                "early_stopping",
                json!("EarlyStopping(monitor='train_loss')"),
            ),
            vec!["--early-stopping", "EarlyStopping(monitor='eval_loss')"],
            "/early_stopping",
            json!("EarlyStopping(monitor='eval_loss')"),
        ),
        "checkpoint" => (
            lin(
                "model_checkpoint",
                json!("ModelCheckpoint(monitor='train_loss')"),
            ),
            vec!["--checkpoint", "ModelCheckpoint(monitor='eval_loss')"],
            "/model_checkpoint",
            json!("ModelCheckpoint(monitor='eval_loss')"),
        ),
        "logger" => (
            lin("logger", json!(["tensorboard"])),
            vec!["--logger", "csv"],
            "/logger",
            json!(["csv"]),
        ),
        "log_every_n_steps" => (
            lin("logger", json!(["tensorboard"])),
            vec!["--log-every-n-steps", "5"],
            "/log_every_n_steps",
            json!(5),
        ),
        "grad_scaler" => (
            lin("grad_scaler", json!("GradScaler()")),
            vec!["--grad-scaler", "GradScaler(init_scale=8.0)"],
            "/grad_scaler",
            json!("GradScaler(init_scale=8.0)"),
        ),
        _ => return None,
    })
}

/// Every flag of `train` is in `FLAG_KEYS`; every one that sets a key overrides a
/// `--config` file's value for it. A renamed flag (a new clap id) fails here.
#[test]
fn every_flag_overrides_its_config_key() {
    let dir = tempfile::tempdir().unwrap();
    let command = Train::command();
    for arg in command.get_arguments() {
        let id = arg.get_id().as_str();
        let keys = FLAG_KEYS
            .iter()
            .find(|(flag, _)| *flag == id)
            .unwrap_or_else(|| panic!("--{id} is not in FLAG_KEYS"))
            .1;
        if keys.is_empty() {
            continue;
        }
        let (file, flags, pointer, want) =
            case(id).unwrap_or_else(|| panic!("--{id} sets {keys:?}: add a case"));
        let path = dir.path().join(format!("{id}.json"));
        std::fs::write(&path, file.to_string()).unwrap();
        let path = path.to_str().unwrap();
        let argv = [&["train", "--config", path][..], &flags].concat();
        let matches = Train::command().try_get_matches_from(&argv).unwrap();
        let train = Train::from_arg_matches(&matches).unwrap();
        let config = train
            .args
            .resolve(&matches)
            .unwrap_or_else(|e| panic!("{argv:?}: {e:#}"));
        let written = serde_json::to_value(&config).unwrap();
        assert_eq!(written.pointer(pointer), Some(&want), "--{id} over {file}");
    }
}

/// `deterministic` as `train` resolves it: on with `--trace` unless given; a `--config` file's
/// value kept unless the command line gives `--deterministic` or `--trace`.
#[test]
fn deterministic_follows_the_trace_unless_given() {
    let dir = tempfile::tempdir().unwrap();
    let resolved = |file: Option<Value>, flags: &[&str]| {
        let mut argv = vec!["train".to_string()];
        if let Some(file) = file {
            let path = dir.path().join("c.json");
            std::fs::write(&path, file.to_string()).unwrap();
            argv.extend(["--config".into(), path.to_str().unwrap().to_string()]);
        }
        argv.extend(flags.iter().map(|f| f.to_string()));
        let matches = Train::command().try_get_matches_from(&argv).unwrap();
        let train = Train::from_arg_matches(&matches).unwrap();
        let config = train.args.resolve(&matches).unwrap();
        serde_json::to_value(&config).unwrap()["deterministic"].clone()
    };
    assert_eq!(resolved(None, &[]), json!(false));
    assert_eq!(resolved(None, &["--trace"]), json!(true));
    assert_eq!(resolved(None, &["--deterministic"]), json!(true));
    assert_eq!(
        resolved(None, &["--trace", "--deterministic", "false"]),
        json!(false)
    );
    assert_eq!(
        resolved(None, &["--trace", "--deterministic=off"]),
        json!(false)
    );
    let traced = json!({"experiment": "linear-regression", "trace": true});
    assert_eq!(
        resolved(Some(traced), &[]),
        json!(true),
        "a file without the key"
    );
    let off = json!({"experiment": "linear-regression", "trace": true, "deterministic": false});
    assert_eq!(
        resolved(Some(off.clone()), &[]),
        json!(false),
        "the file's value"
    );
    assert_eq!(
        resolved(Some(off), &["--trace"]),
        json!(true),
        "an explicit --trace"
    );
}
