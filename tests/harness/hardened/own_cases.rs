//! Building the cases of the user's own files: where damaged files and never-made runs go, and
//! the `--model`/`--data`/`--loss` flags of a task.
use std::path::{Path, PathBuf};

use tch_harness::data::{write_tensors, NamedTensors};

use super::runner::{case, Case};
use crate::own_fixture::path;

/// Builds the cases in one folder: damaged files go to `files/`, runs that must never be made
/// to `never/`.
pub(super) struct Cases {
    pub(super) dir: PathBuf,
    pub(super) list: Vec<Case>,
}

impl Cases {
    pub(super) fn new(dir: &Path) -> Cases {
        for sub in ["files", "never"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        Cases {
            dir: dir.to_path_buf(),
            list: Vec::new(),
        }
    }

    /// Writes `files/<name>`; returns its path.
    pub(super) fn file(&self, name: &str, bytes: &[u8]) -> String {
        let p = self.dir.join("files").join(name);
        std::fs::write(&p, bytes).unwrap();
        path(&p)
    }

    /// Writes `files/<name>.safetensors` with `write_tensors`; returns its path.
    pub(super) fn data(&self, name: &str, tensors: &NamedTensors) -> String {
        let p = self.dir.join("files").join(format!("{name}.safetensors"));
        write_tensors(&p, tensors, None).unwrap();
        path(&p)
    }

    /// `train` on the files must fail before it makes its run directory.
    pub(super) fn train(&mut self, name: &str, files: Task<'_>, needle: &str) {
        let out = self.dir.join("never").join(self.list.len().to_string());
        let epochs = ["--epochs", "1", "--out", &path(&out)];
        let args = [&["train"][..], &files.args(), &epochs].concat();
        let mut c = case(format!("train {name}"), &args, needle);
        c.absent = Some(out);
        self.list.push(c);
    }

    /// `eval` on the files must fail.
    pub(super) fn eval(&mut self, name: &str, files: Task<'_>, needle: &str) {
        let c = case(
            format!("eval {name}"),
            &[&["eval"][..], &files.args()].concat(),
            needle,
        );
        self.list.push(c);
    }

    /// Both `train` and `eval`.
    pub(super) fn both(&mut self, name: &str, files: Task<'_>, needle: &str) {
        self.add(name, files, needle, true);
    }

    /// `train`, and `eval` too when `eval` (one representative of each kind of damage: both
    /// build the experiment the same way).
    pub(super) fn add(&mut self, name: &str, files: Task<'_>, needle: &str, eval: bool) {
        self.train(name, files, needle);
        if eval {
            self.eval(name, files, needle);
        }
    }
}

/// The flags naming a model, a data file, a loss and extra flags.
#[derive(Clone, Copy)]
pub(super) struct Task<'a> {
    pub(super) model: &'a str,
    pub(super) data: &'a str,
    pub(super) loss: &'a str,
    pub(super) extra: &'a [&'a str],
}

impl<'a> Task<'a> {
    pub(super) fn new(model: &'a str, data: &'a str, loss: &'a str) -> Task<'a> {
        Task {
            model,
            data,
            loss,
            extra: &[],
        }
    }

    pub(super) fn args(&self) -> Vec<&'a str> {
        let mut args = vec![
            "--model", self.model, "--data", self.data, "--loss", self.loss,
        ];
        args.extend_from_slice(self.extra);
        args
    }
}

pub(super) fn file_name(p: &str) -> &str {
    Path::new(p).file_name().unwrap().to_str().unwrap()
}
