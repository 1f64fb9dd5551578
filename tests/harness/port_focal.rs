//! A port with a loss of its own trains through the harness's loop: `examples/port_focal.rs`
//! (a focal loss as a `LossFn`, included here and run in-process) and `examples/port_focal.py`
//! (the same experiment in PyTorch, run by the project's Python) give bit-identical per-epoch
//! losses and accuracies.
#[path = "../../examples/port_focal.rs"]
mod focal_example;

use tch::Device;
use tch_harness::criterion::{Criterion, LossChoice, LossOptions};

use crate::common::port_and_original;

// The PyTorch loop this mirrors (examples/port_focal.py, abridged):
//
//     def focal_loss(logits, targets, gamma=2.0):
//         log_pt = F.log_softmax(logits, dim=1).gather(1, targets.unsqueeze(1)).squeeze(1)
//         pt = log_pt.exp()
//         return (-(1 - pt) ** gamma * log_pt).mean()
//
//     torch.manual_seed(0); model = FocalNet()  # Linear(64, 32), relu, Linear(32, 10)
//     optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, foreach=False)
//     for epoch in range(1, 6):
//         sampler.epoch = epoch  # EpochShuffle: the harness's order
//         for inputs, targets in loader:  # batch 64, the short last batch kept
//             optimizer.zero_grad()
//             _loss = focal_loss(model(inputs), targets)
//             _loss.backward()
//             optimizer.step()
//             total_loss += _loss.item() * inputs.size(0)
//         average_loss = total_loss / len(loader.dataset)
//         # eval: focal_loss(...).item() * inputs.size(0) summed over len(eval set);
//         # accuracy: (outputs.argmax(1) == targets).sum() / len(eval set)
#[test]
fn port_focal_own_loss_equals_its_pytorch_original() {
    let (outcome, rust, original) = port_and_original(focal_example::run, "examples/port_focal.py");
    assert_eq!(outcome.records.len(), 5);
    assert_eq!(rust.len(), original.len());
    for (r, p) in rust.iter().zip(&original) {
        for key in ["train_loss", "eval_loss", "eval_accuracy"] {
            let (a, b) = (r[key].as_f64().unwrap(), p[key].as_f64().unwrap());
            assert_eq!(
                a.to_bits(),
                b.to_bits(),
                "epoch {}: {key} {a} (Rust) vs {b} (PyTorch)",
                r["epoch"]
            );
        }
        assert_eq!(r["batches"], p["batches"]);
        assert_eq!(r["train_samples"], 1347);
    }
    let (first, last) = (
        rust[0]["train_loss"].as_f64().unwrap(),
        rust[4]["train_loss"].as_f64().unwrap(),
    );
    assert!(
        last < first / 5.0,
        "the focal port did not learn: {first} -> {last}"
    );
    assert!(rust[4]["eval_accuracy"].as_f64().unwrap() > 0.9);
}

/// A port's own loss takes none of the criterion options unless its `accepts` says so: a run
/// that gives one is refused with the same one-line error as a built-in loss.
#[test]
fn port_focal_own_loss_refuses_options_it_does_not_take() {
    let focal = LossChoice::own(focal_example::FocalLoss { gamma: 2.0 });
    let plain = Criterion::new(&focal, &LossOptions::default(), Some(10), Device::Cpu);
    assert!(plain.is_ok());
    let options = LossOptions {
        ignore_index: Some(0),
        ..LossOptions::default()
    };
    let err = Criterion::new(&focal, &options, Some(10), Device::Cpu)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("--ignore-index applies to cross-entropy and nll, not --loss focal"),
        "{err}"
    );
}
