//! `--model` files that are damaged, are not TorchScript, or hold a module that does not fit the
//! task.
use std::path::Path;

use super::corrupt::{random_files, truncations, Lcg};
use super::own_cases::{file_name, Cases, Task};
use super::tensor_edits::base;
use crate::own_fixture::{fixture, path};

/// Damaged model files, files that are not TorchScript, and modules that do not fit the task.
pub(super) fn model_cases(cases: &mut Cases, odd: &Path) {
    let (mse, data, _) = base("mse");
    let valid = std::fs::read(&mse).unwrap();
    let mut rng = Lcg::new(11);
    let mut damaged = truncations(&valid, 6);
    damaged.extend(random_files(&mut rng, 6));
    // The zip's end-of-central-directory record zeroed, and a flipped signature at the start.
    let mut no_directory = valid.clone();
    let len = no_directory.len();
    no_directory[len - 22..].fill(0);
    damaged.push(("no-central-directory".into(), no_directory));
    let mut bad_signature = valid.clone();
    bad_signature[..4].copy_from_slice(b"XXXX");
    damaged.push(("bad-zip-signature".into(), bad_signature));
    for (i, (name, bytes)) in damaged.into_iter().enumerate() {
        let model = cases.file(&format!("model-{name}.pt"), &bytes);
        let needle = format!(
            "{}: not a TorchScript module saved by torch.jit.save",
            file_name(&model)
        );
        let task = Task::new(&model, &data, "mse");
        cases.add(&format!("--model {name}"), task, &needle, i % 6 == 3);
    }
    let odd_file = |name: &str| path(&odd.join(name));
    let folder = cases.dir.join("files").join("a-folder.pt");
    std::fs::create_dir_all(&folder).unwrap();
    let fx = fixture();
    let not_torchscript = [
        odd_file("zip-not-torchscript.pt"),
        odd_file("tensor-torch-save.pt"),
        path(&fx.dir.join("bad/state_dict.pt")),
        data.clone(),
        path(&fx.dir.join("mse/reference.safetensors")),
    ];
    for (i, model) in not_torchscript.iter().enumerate() {
        let name = file_name(model);
        let needle = format!("{name}: not a TorchScript module saved by torch.jit.save");
        let task = Task::new(model, &data, "mse");
        cases.add(&format!("--model {name}"), task, &needle, i < 2);
    }
    let folder = path(&folder);
    let missing = path(&cases.dir.join("files").join("missing.pt"));
    cases.both(
        "--model directory",
        Task::new(&folder, &data, "mse"),
        "a-folder.pt: is a directory",
    );
    cases.both(
        "--model missing",
        Task::new(&missing, &data, "mse"),
        "missing.pt: No such file",
    );
    // Modules that load but do not fit.
    let misfits: Vec<(&str, &str)> = vec![
        ("two-args.pt", "forward() is missing value for argument 'y'"),
        (
            "int-output.pt",
            "the model turns one sample of 'inputs' [203, 5] into Int64 [1]; the loss needs a \
             float tensor [1, …]",
        ),
        (
            "scalar-output.pt",
            "the model turns one sample of 'inputs' [203, 5] into Float []; the loss needs a \
             float tensor [1, …]",
        ),
        ("list-output.pt", "forward did not return a tensor"),
        (
            "double.pt",
            "mat1 and mat2 must have the same dtype, but got Float and Double",
        ),
        (
            "batch-mean.pt",
            "the model turns one sample of 'inputs' [203, 5] into [1, 1] but two into [1, 1]; it \
             must return one row per sample",
        ),
    ];
    for (i, (name, needle)) in misfits.into_iter().enumerate() {
        let model = odd_file(name);
        let task = Task::new(&model, &data, "mse");
        cases.add(&format!("--model {name}"), task, needle, i % 2 == 1);
    }
    let tuple = path(&fx.dir.join("bad/tuple.pt"));
    cases.train(
        "--model tuple.pt",
        Task::new(&tuple, &data, "mse"),
        "forward did not return a tensor",
    );
    // Modules with nothing to train: `eval` takes them, `train` does not.
    for (name, needle) in [
        ("no-parameters.pt", "(0 parameters, 0 with requires_grad)"),
        ("frozen.pt", "(4 parameters, 0 with requires_grad)"),
        ("detached.pt", "(4 parameters, 4 with requires_grad)"),
    ] {
        let model = odd_file(name);
        let needle = format!(
            "{name}: the model's output does not depend on any trainable parameter {needle}: \
             there is nothing to train"
        );
        cases.train(
            &format!("--model {name}"),
            Task::new(&model, &data, "mse"),
            &needle,
        );
    }
    // Modules that pass both probes and fail on a full batch: the run directory exists by then,
    // and the error is still one line.
    let batch16 = &["--batch-size", "16"];
    for (name, needle, eval) in [
        (
            "first-two-rows.pt",
            "--loss mse: the model's output [2, 1] does not fit the batch's targets [16, 1]",
            true,
        ),
        ("raises-on-batch.pt", "batch too big", true),
        ("nan-output.pt", "epoch 1, batch 1: the loss is NaN", false),
    ] {
        let model = odd_file(name);
        let task = Task {
            extra: batch16,
            ..Task::new(&model, &data, "mse")
        };
        cases.add(&format!("--model {name} (full batch)"), task, needle, eval);
        for c in cases.list.iter_mut().rev().take(1 + eval as usize) {
            c.absent = None;
        }
    }
}
