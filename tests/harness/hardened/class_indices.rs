//! Class-index targets outside the classes the model outputs.
use super::own_cases::{Cases, Task};
use super::tensor_edits::{base, get, set_in_sample, with};

/// Class indices outside [0, classes): negative, equal to the class count, far beyond, and -100
/// when another ignore index is given (PyTorch's -100 is ignored by default, and accepted); and a
/// split whose every target is ignored (its loss has no mean).
pub(super) fn class_range_cases(cases: &mut Cases) {
    for (loss, classes) in [("cross-entropy", 4), ("nll", 3)] {
        let (model, _, data) = base(loss);
        for key in ["targets", "eval_targets"] {
            let t = get(&data, key);
            let n = t.size()[0];
            for (sample, value) in [(0, -1), (n / 2, classes), (n - 1, 1000), (1, -100)] {
                if key == "eval_targets" && value != classes {
                    continue;
                }
                let bad = set_in_sample(&t, sample, value as f64);
                let name = format!("{loss}-{key}-class-{value}-sample-{sample}");
                let file = cases.data(&name, &with(&data, key, bad));
                let needle = if value < 0 {
                    format!("'{key}' [{n}] holds class indices in [{value}, ")
                } else {
                    format!(
                        "'{key}' [{n}] holds class indices in [0, {value}] but the model outputs \
                         {classes} classes (output dimension 1), so they must lie in [0, {}]",
                        classes - 1
                    )
                };
                let mut task = Task::new(&model, &file, loss);
                if value == -100 {
                    task.extra = &["--ignore-index", "-1"];
                }
                cases.add(&name, task, &needle, key == "targets" && value == classes);
            }
        }
    }
    let (model, _, data) = base("cross-entropy");
    let ignored = get(&data, "targets").fill_(-100);
    let file = cases.data("all-targets-ignored", &with(&data, "targets", ignored));
    cases.both(
        "all-targets-ignored",
        Task::new(&model, &file, "cross-entropy"),
        "every target of 'targets' [203] is the ignore index -100: there is nothing to average",
    );
    // An mse model (one output column) used as a classifier: only class 0 exists.
    let (mse, _, _) = base("mse");
    let (_, ce_file, _) = base("cross-entropy");
    cases.both(
        "one-column-classifier",
        Task::new(&mse, &ce_file, "cross-entropy"),
        "but the model outputs 1 classes (output dimension 1), so they must lie in [0, 0]",
    );
}
