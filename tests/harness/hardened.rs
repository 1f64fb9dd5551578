//! Hardened input: hundreds of malformed files and impossible flag combinations, each fed to the
//! real binary. Every one must end in a short error and a non-zero exit — no panic, no abort, no
//! C++ backtrace — and leave every file of the run directory it touched as it was.
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::{assert_clean_error, run_bin, tempdir, text};
use tch_harness::checkpoint::{checkpoint_path, LAST};
use tch_harness::tensor_file::{read_tensors, write_tensors};

/// One malformed input: the arguments and the words the error must contain.
pub(crate) struct Case {
    pub(crate) name: String,
    pub(crate) args: Vec<String>,
    pub(crate) needle: String,
    /// A run directory whose files must not change.
    pub(crate) guard: Option<PathBuf>,
    /// A path that must not exist afterwards (the `--out` of a run that must fail before it
    /// makes its run directory).
    pub(crate) absent: Option<PathBuf>,
}

pub(crate) fn case(name: impl Into<String>, args: &[&str], needle: impl Into<String>) -> Case {
    Case {
        name: name.into(),
        args: args.iter().map(|s| s.to_string()).collect(),
        needle: needle.into(),
        guard: None,
        absent: None,
    }
}

/// Malformed cases run by every hardened module so far, and how many modules have reported.
static CASES: AtomicUsize = AtomicUsize::new(0);
static MODULES: AtomicUsize = AtomicUsize::new(0);
/// The hardened test modules (this one and `hardened_files`).
const HARDENED_MODULES: usize = 2;

/// Prints a module's count of malformed cases and, once every hardened module has reported, the
/// total (both tests run in one process; `--nocapture` shows it).
pub(crate) fn report(module: &str, count: usize) {
    let total = CASES.fetch_add(count, Ordering::SeqCst) + count;
    eprintln!("{module}: {count} malformed cases, each a clean error");
    if MODULES.fetch_add(1, Ordering::SeqCst) + 1 == HARDENED_MODULES {
        eprintln!("hardened input: {total} malformed cases in all, each a clean error");
    }
}

fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    for entry in walk(dir) {
        files.insert(entry.clone(), std::fs::read(&entry).unwrap());
    }
    files
}

pub(crate) fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Runs the cases two at a time (the machine has two cores).
pub(crate) fn run_cases(cases: Vec<Case>) -> usize {
    let count = cases.len();
    let chunks: Vec<Vec<Case>> = {
        let mut it = cases.into_iter();
        let mut v = Vec::new();
        loop {
            let chunk: Vec<Case> = it.by_ref().take(2).collect();
            if chunk.is_empty() {
                break v;
            }
            v.push(chunk);
        }
    };
    for chunk in chunks {
        std::thread::scope(|s| {
            for c in &chunk {
                s.spawn(move || {
                    let before = c.guard.as_deref().map(snapshot);
                    let args: Vec<&str> = c.args.iter().map(String::as_str).collect();
                    let out = run_bin(&args);
                    let context = format!("case '{}'", c.name);
                    assert!(
                        !out.status.success(),
                        "{context}: succeeded: {}",
                        text(&out)
                    );
                    std::panic::catch_unwind(|| assert_clean_error(&out, &c.needle))
                        .unwrap_or_else(|_| panic!("{context} failed"));
                    if let (Some(dir), Some(before)) = (&c.guard, before) {
                        assert!(
                            snapshot(dir) == before,
                            "{context}: the run directory changed"
                        );
                    }
                    if let Some(path) = &c.absent {
                        assert!(!path.exists(), "{context}: {} was made", path.display());
                    }
                });
            }
        });
    }
    count
}

/// A seeded linear congruential generator: the same damaged files on every run.
pub(crate) struct Lcg(u64);

impl Lcg {
    pub(crate) fn new(seed: u64) -> Lcg {
        Lcg(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// Truncations at `n` evenly spread lengths, `n` random-byte files, and `n` header corruptions
/// (of a safetensors file).
pub(crate) fn corruptions(valid: &[u8], n: usize, seed: u64) -> Vec<(String, Vec<u8>)> {
    let mut rng = Lcg::new(seed);
    let mut out = truncations(valid, n);
    out.extend(random_files(&mut rng, n));
    out.extend(header_corruptions(&mut rng, valid, n));
    out
}

/// `valid` cut at `n` evenly spread lengths (0 included, the whole file not).
pub(crate) fn truncations(valid: &[u8], n: usize) -> Vec<(String, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let len = valid.len() * i / n;
            (format!("truncated-{len}"), valid[..len].to_vec())
        })
        .collect()
}

/// `n` files of random bytes, from empty to 40 kB.
pub(crate) fn random_files(rng: &mut Lcg, n: usize) -> Vec<(String, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let len = [0, 1, 7, 8, 9, 16, 100, 1000, 5000, 40000][i % 10] + i / 10;
            let bytes = (0..len).map(|_| rng.next() as u8).collect();
            (format!("random-{len}"), bytes)
        })
        .collect()
}

/// `n` copies of a safetensors file, each with one byte of its JSON header made invalid UTF-8.
pub(crate) fn header_corruptions(rng: &mut Lcg, valid: &[u8], n: usize) -> Vec<(String, Vec<u8>)> {
    let header_len = u64::from_le_bytes(valid[..8].try_into().unwrap()) as usize;
    (0..n)
        .map(|_| {
            let at = 8 + (rng.next() as usize) % header_len;
            let mut bytes = valid.to_vec();
            bytes[at] = 0xFF; // invalid UTF-8 inside the JSON header
            (format!("header-byte-{at}"), bytes)
        })
        .collect()
}

/// A finished digits-mlp run (3 epochs) to copy and damage.
fn finished_run(dir: &Path, experiment: &str) -> PathBuf {
    let run = dir.join(format!("base-{experiment}"));
    let out = run_bin(&[
        "train",
        "--experiment",
        experiment,
        "--epochs",
        "2",
        "--device",
        "cpu",
        "--out",
        run.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    run
}

pub(crate) fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to.join("checkpoints")).unwrap();
    for file in walk(from) {
        let rel = file.strip_prefix(from).unwrap();
        std::fs::copy(&file, to.join(rel)).unwrap();
    }
}

fn init_file_cases(dir: &Path, valid_run: &Path) -> Vec<Case> {
    let valid = std::fs::read(valid_run.join("model.safetensors")).unwrap();
    let mut cases = Vec::new();
    for (name, bytes) in corruptions(&valid, 30, 1) {
        let path = dir.join(format!("init-{name}.safetensors"));
        std::fs::write(&path, bytes).unwrap();
        let out = dir.join(format!("never-{name}"));
        let args = [
            "train",
            "--epochs",
            "1",
            "--init",
            path.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ];
        cases.push(case(format!("--init {name}"), &args, "init-"));
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
        let never = dir.join("never");
        let args = [
            "train",
            "--epochs",
            "1",
            "--init",
            path.to_str().unwrap(),
            "--out",
            never.to_str().unwrap(),
        ];
        cases.push(case(format!("--init {name}"), &args, needle));
    }
    cases
}

fn checkpoint_cases(dir: &Path, base: &Path, other: &Path) -> Vec<Case> {
    let valid = std::fs::read(checkpoint_path(base, LAST)).unwrap();
    let mut cases = Vec::new();
    let mut damaged = |name: String, bytes: Vec<u8>, needle: &'static str| {
        let run = dir.join(format!("ckpt-{name}"));
        copy_dir(base, &run);
        std::fs::write(checkpoint_path(&run, LAST), bytes).unwrap();
        let mut c = case(
            format!("checkpoint {name}"),
            &["train", "--resume", run.to_str().unwrap()],
            needle,
        );
        c.guard = Some(run);
        cases.push(c);
    };
    for (name, bytes) in corruptions(&valid, 18, 2) {
        damaged(name, bytes, "last.safetensors");
    }
    // A checkpoint of another experiment, and a model state_dict that is not a checkpoint.
    damaged(
        "other-experiment".into(),
        std::fs::read(checkpoint_path(other, LAST)).unwrap(),
        "checkpoint of experiment 'breast-cancer'",
    );
    damaged(
        "plain-state-dict".into(),
        std::fs::read(base.join("model.safetensors")).unwrap(),
        "not a tch-harness checkpoint",
    );
    cases
}

fn config_cases(dir: &Path, base: &Path) -> Vec<Case> {
    let valid = std::fs::read_to_string(base.join("config.json")).unwrap();
    let mut variants: Vec<(String, String)> = (0..10)
        .map(|i| {
            let len = valid.len() * i / 10;
            (format!("truncated-{len}"), valid[..len].to_string())
        })
        .collect();
    variants.push(("not-json".into(), "\u{1}\u{2}garbage".into()));
    variants.push(("empty-object".into(), "{}".into()));
    variants.push(("null-config".into(), r#"{"config": null}"#.into()));
    variants.push((
        "epochs-string".into(),
        valid.replace("\"epochs\": 2", "\"epochs\": \"two\""),
    ));
    variants.push((
        "epochs-zero".into(),
        valid.replace("\"epochs\": 2", "\"epochs\": 0"),
    ));
    variants.push((
        "batch-negative".into(),
        valid.replace("\"batch_size\": 64", "\"batch_size\": -64"),
    ));
    variants.push((
        "unknown-experiment".into(),
        valid.replace("\"digits-mlp\"", "\"mnist-cnn\""),
    ));
    variants.push((
        "bad-device".into(),
        valid.replace("\"device\": \"cpu\"", "\"device\": \"gpu7\""),
    ));
    variants.push((
        "bad-optimizer".into(),
        valid.replace("\"kind\": \"sgd\"", "\"kind\": \"lbfgs\""),
    ));
    variants.push((
        "lr-negative".into(),
        valid.replace("\"lr\": 0.05", "\"lr\": -0.05"),
    ));
    let mut cases = Vec::new();
    for (name, text) in variants {
        assert_ne!(text, valid, "variant {name} changed nothing");
        let run = dir.join(format!("config-{name}"));
        copy_dir(base, &run);
        std::fs::write(run.join("config.json"), text).unwrap();
        let needle = if name == "unknown-experiment" {
            "unknown experiment 'mnist-cnn'"
        } else {
            "config.json"
        };
        let mut c = case(
            format!("config.json {name}"),
            &["train", "--resume", run.to_str().unwrap()],
            needle,
        );
        c.guard = Some(run);
        cases.push(c);
    }
    cases
}

fn flag_cases(dir: &Path, base: &Path) -> Vec<Case> {
    let run = base.to_str().unwrap();
    let never = dir.join("never-flags");
    let out = never.to_str().unwrap();
    let mut cases = Vec::new();
    let with_resume: &[&[&str]] = &[
        &["--experiment", "digits-mlp"],
        &["--epochs", "3"],
        &["--batch-size", "8"],
        &["--lr", "0.1"],
        &["--optimizer", "adam"],
        &["--momentum", "0.9"],
        &["--dampening", "0.1"],
        &["--nesterov"],
        &["--weight-decay", "0.1"],
        &["--beta1", "0.8"],
        &["--beta2", "0.99"],
        &["--eps", "1e-6"],
        &["--amsgrad"],
        &["--seed", "3"],
        &["--device", "cpu"],
        &["--threads", "1"],
        &["--out", out],
        &["--init", "x.safetensors"],
        &["--no-shuffle"],
        &["--checkpoint-every", "2"],
        &["--on-nonfinite", "stop"],
    ];
    for extra in with_resume {
        let mut c = case(
            format!("--resume with {}", extra[0]),
            &[&["train", "--resume", run][..], extra].concat(),
            "--resume continues the run",
        );
        c.guard = Some(base.to_path_buf());
        cases.push(c);
    }
    let invalid: &[(&[&str], &'static str)] = &[
        (
            &["--nesterov", "--momentum", "0.9", "--dampening", "0.5"],
            "Nesterov momentum requires",
        ),
        (
            &["--checkpoint-every", "0"],
            "--checkpoint-every must be at least 1",
        ),
        (
            &["--on-nonfinite", "ignore"],
            "invalid --on-nonfinite 'ignore'",
        ),
        (&["--beta1", "1.0", "--optimizer", "adam"], "invalid beta1"),
        (&["--eps", "-1", "--optimizer", "adam"], "invalid eps"),
        (&["--weight-decay", "-0.1"], "invalid weight decay"),
        (&["--weight-decay", "nan"], "invalid weight decay"),
        (&["--momentum", "inf"], "invalid momentum"),
        (&["--lr=-inf"], "invalid learning rate"),
        (&["--device", "cuda:x"], "invalid device 'cuda:x'"),
        (&["--device", ""], "invalid device ''"),
        (
            &["--init", "/nonexistent/w.safetensors"],
            "/nonexistent/w.safetensors",
        ),
    ];
    for (args, needle) in invalid {
        cases.push(case(
            format!("flags {args:?}"),
            &[&["train", "--epochs", "1", "--out", out][..], args].concat(),
            *needle,
        ));
    }
    let (empty, file) = (dir.join("empty"), dir.join("file.txt"));
    let not_runs: &[(&str, &'static str)] = &[
        ("/nonexistent/run", "not a run directory"),
        (empty.to_str().unwrap(), "not a run directory"),
        (file.to_str().unwrap(), "not a run directory"),
    ];
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    std::fs::write(dir.join("file.txt"), "x").unwrap();
    for (path, needle) in not_runs {
        cases.push(case(
            format!("--resume {path}"),
            &["train", "--resume", path],
            *needle,
        ));
    }
    cases
}

#[test]
fn malformed_inputs_give_clean_errors_and_damage_nothing() {
    let dir = tempdir();
    let base = finished_run(dir.path(), "digits-mlp");
    let other = finished_run(dir.path(), "breast-cancer");
    let mut cases = init_file_cases(dir.path(), &base);
    cases.extend(checkpoint_cases(dir.path(), &base, &other));
    cases.extend(config_cases(dir.path(), &base));
    cases.extend(flag_cases(dir.path(), &base));
    let count = run_cases(cases);
    report("hardened", count);
    assert!(count >= 200, "only {count} cases");
}
