//! `tch-harness compare` on recipes around the loop: schedulers, gradient clipping, every optimizer
//! and parameter groups, each bit-identical to scripts/reference.py (PyTorch) through the binary.
use serde_json::Value;

use crate::compare::{assert_identical_run, harness_config};

/// Learning-rate schedulers stepped per epoch, per batch, on the eval loss and composed: both
/// sides train from the same spelling, and their losses and rates (metrics.jsonl's `lr`, the rate
/// of each epoch's last step) are the same bits.
#[test]
fn compare_with_schedulers_is_bit_identical() {
    let cases = [
        ("StepLR(step_size=1, gamma=0.5)", "epoch", "sgd"),
        (
            "OneCycleLR(max_lr=0.05, total_steps=18, cycle_momentum=False)",
            "batch",
            "sgd",
        ),
        (
            "ReduceLROnPlateau(patience=0, factor=0.5, threshold=0.5)",
            "epoch",
            "adam",
        ),
        (
            "SequentialLR(schedulers=[LinearLR(start_factor=0.25, total_iters=4), \
             CosineAnnealingWarmRestarts(T_0=3)], milestones=[4])",
            "batch",
            "adamw",
        ),
    ];
    for (spec, interval, optimizer) in cases {
        let args = [
            "--experiment",
            "breast-cancer",
            "--batch-size",
            "50",
            "--optimizer",
            optimizer,
            "--scheduler",
            spec,
            "--scheduler-interval",
            interval,
        ];
        let dir = assert_identical_run(&args);
        let rates = |side: &str| -> Vec<Value> {
            crate::common::read_jsonl(&dir.path().join(format!("cmp/{side}/metrics.jsonl")))
                .iter()
                .map(|r| r["lr"].clone())
                .collect()
        };
        let harness = rates("harness");
        assert_eq!(harness, rates("reference"), "{spec}");
        assert!(harness.iter().all(|r| r.is_f64()), "{spec}: {harness:?}");
    }
}

/// Gradient clipping by norm (2, inf, a fractional p, with Adam) and by value: the losses and each
/// epoch's largest pre-clip norm equal `torch.nn.utils.clip_grad_norm_`'s to the bit.
#[test]
fn compare_with_gradient_clipping_is_bit_identical() {
    let cases: [&[&str]; 4] = [
        &["--clip-grad-norm", "0.5"],
        &[
            "--clip-grad-norm",
            "0.3",
            "--clip-norm-type",
            "inf",
            "--momentum",
            "0.9",
        ],
        &[
            "--clip-grad-norm",
            "1.0",
            "--clip-norm-type",
            "1.5",
            "--optimizer",
            "adam",
            "--lr",
            "0.01",
        ],
        &["--clip-grad-value", "0.01"],
    ];
    for args in cases {
        let dir = assert_identical_run(args);
        let norms = |side: &str| -> Vec<Value> {
            crate::common::read_jsonl(&dir.path().join(format!("cmp/{side}/metrics.jsonl")))
                .iter()
                .map(|r| r["grad_norm_max"].clone())
                .collect()
        };
        let harness = norms("harness");
        assert_eq!(harness, norms("reference"), "{args:?}");
        let by_norm = args[0] == "--clip-grad-norm";
        assert!(
            harness.iter().all(|n| n.is_f64() == by_norm),
            "{args:?}: {harness:?}"
        );
        if by_norm {
            // The clipping acted: the pre-clip norm exceeded the threshold.
            let threshold: f64 = args[1].parse().unwrap();
            assert!(harness[0].as_f64().unwrap() > threshold, "{harness:?}");
        }
    }
}

/// Every torch.optim optimizer that suits an MLP, named as on the command line or spelt as in
/// PyTorch, trains to the same bits on both sides (Muon takes matrices only: see its own tests).
#[test]
fn compare_every_optimizer_is_bit_identical() {
    let cases: [&[&str]; 11] = [
        &["--optimizer", "adadelta", "--lr", "1.0"],
        &[
            "--optimizer",
            "rmsprop",
            "--lr",
            "0.001",
            "--momentum",
            "0.5",
        ],
        &[
            "--optimizer",
            "Adagrad(lr=0.05, lr_decay=0.01, initial_accumulator_value=0.1)",
        ],
        &["--optimizer", "Adamax(lr=0.002, weight_decay=0.01)"],
        &["--optimizer", "ASGD(lr=0.05, t0=10, lambd=0.001)"],
        &[
            "--optimizer",
            "NAdam(lr=0.002, decoupled_weight_decay=True, weight_decay=0.01)",
        ],
        &["--optimizer", "RAdam(lr=0.003, betas=(0.8, 0.99))"],
        &[
            "--optimizer",
            "RMSprop(lr=0.001, momentum=0.9, centered=True, maximize=False)",
        ],
        &["--optimizer", "Rprop(lr=0.001, etas=(0.4, 1.3))"],
        &[
            "--optimizer",
            "Adafactor(lr=0.01, eps=(None, 0.001), beta2_decay=-0.7)",
        ],
        &["--optimizer", "SGD(lr=0.05, momentum=0.9, nesterov=True)"],
    ];
    for args in cases {
        let args = [&["--experiment", "breast-cancer"][..], args].concat();
        let dir = assert_identical_run(&args);
        let config = harness_config(&dir.path().join("cmp"));
        assert!(
            config["optimizer"]["kind"].is_string(),
            "{args:?}: {config}"
        );
    }
}

/// Parameter groups: no weight decay on biases; Muon for the matrices with AdamW for the rest
/// (two optimizers on the PyTorch side) under one scheduler; a per-group rate with a per-batch
/// OneCycleLR taking a rate per group. Losses equal PyTorch's to the bit, and metrics.jsonl
/// records each group's rate where they differ.
#[test]
fn compare_with_parameter_groups_is_bit_identical() {
    let cases: [&[&str]; 3] = [
        &[
            "--optimizer",
            "adamw",
            "--lr",
            "0.003",
            "--param-group",
            "*.bias: weight_decay=0.0",
        ],
        &[
            "--optimizer",
            "adamw",
            "--lr",
            "0.003",
            "--param-group",
            "ndim=2: Muon(lr=0.02)",
            "--scheduler",
            "StepLR(step_size=1, gamma=0.5)",
        ],
        &[
            "--momentum",
            "0.9",
            "--param-group",
            "fc2.*: lr=0.01",
            "--scheduler",
            "OneCycleLR(max_lr=[0.1, 0.02], total_steps=18, cycle_momentum=False)",
            "--scheduler-interval",
            "batch",
        ],
    ];
    for (i, args) in cases.into_iter().enumerate() {
        let args = [
            &["--experiment", "breast-cancer", "--batch-size", "50"][..],
            args,
        ]
        .concat();
        let dir = assert_identical_run(&args);
        let cmp = dir.path().join("cmp");
        assert_eq!(
            harness_config(&cmp)["param_groups"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        let records = crate::common::read_jsonl(&cmp.join("harness/metrics.jsonl"));
        let lrs = &records[0]["lrs"];
        assert_eq!(lrs.is_array(), i > 0, "{args:?}: {lrs}");
    }
}
