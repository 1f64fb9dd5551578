//! `--init` for a built-in experiment: damaged safetensors files, and valid ones with missing,
//! unexpected or misshapen keys.
use std::path::Path;

use tch_harness::data::{read_tensors, write_tensors};

use super::corrupt::corruptions;
use super::runner::{case, Case};

/// `--init` files written to `dir`: damaged copies of `valid_run`'s model.safetensors, and valid
/// ones with missing, unexpected or misshapen keys.
pub(super) fn init_file_cases(dir: &Path, valid_run: &Path) -> Vec<Case> {
    let valid = std::fs::read(valid_run.join("model.safetensors")).unwrap();
    let mut cases = Vec::new();
    for (name, bytes) in corruptions(&valid, 30, 1) {
        let path = dir.join(format!("init-{name}.safetensors"));
        std::fs::write(&path, bytes).unwrap();
        let out = dir.join(format!("never-{name}"));
        cases.push(init_case(&name, &path, &out, "init-"));
    }
    // Valid safetensors, wrong contents: every offending key is named.
    let mut tensors = read_tensors(&valid_run.join("model.safetensors")).unwrap();
    type Change = Box<dyn Fn(&mut Vec<(String, tch::Tensor)>)>;
    let variants: Vec<(&str, Change, &str)> = vec![
        (
            "missing",
            Box::new(|t| {
                t.retain(|(n, _)| n != "fc2.bias");
            }),
            "missing keys: fc2.bias",
        ),
        (
            "unexpected",
            Box::new(|t| {
                t.push((
                    "fc3.weight".into(),
                    tch::Tensor::zeros([2], tch::kind::FLOAT_CPU),
                ))
            }),
            "unexpected keys: fc3.weight",
        ),
        (
            "shape",
            Box::new(|t| t[0].1 = tch::Tensor::zeros([3], tch::kind::FLOAT_CPU)),
            "shape/dtype mismatch: fc1.bias",
        ),
        (
            "dtype",
            Box::new(|t| t[0].1 = t[0].1.to_kind(tch::Kind::Double)),
            "shape/dtype mismatch: fc1.bias",
        ),
    ];
    for (name, change, needle) in variants {
        let mut t: Vec<_> = tensors
            .iter_mut()
            .map(|(n, v)| (n.clone(), v.shallow_clone()))
            .collect();
        change(&mut t);
        let path = dir.join(format!("init-{name}.safetensors"));
        write_tensors(&path, &t, None).unwrap();
        cases.push(init_case(name, &path, &dir.join("never"), needle));
    }
    cases
}

/// `train --init <weights> --out <out>` for one epoch, which must fail.
fn init_case(name: &str, weights: &Path, out: &Path, needle: &str) -> Case {
    let args = [
        "train",
        "--epochs",
        "1",
        "--init",
        weights.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ];
    case(format!("--init {name}"), &args, needle)
}
