//! TorchScript modules that load but do not fit a task, and files that are not TorchScript, made
//! by one Python call.
use std::path::{Path, PathBuf};

use crate::common::run_python;
use crate::own_fixture::path;

/// TorchScript modules that load but do not fit a task, and files that are not TorchScript.
/// `sys.argv[1]` is the output folder.
const ODD_MODULES: &str = r#"
import os, sys, warnings, zipfile
import torch
warnings.simplefilter("ignore")
out = sys.argv[1]
MODELS = """
import torch, torch.nn as nn
from typing import List

class Mlp(nn.Module):
    def __init__(self, n_in: int = 5, hidden: int = 16, n_out: int = 1):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(n_in, hidden), nn.Linear(hidden, n_out)
    def body(self, x):
        return self.fc2(torch.relu(self.fc1(x)))
    def forward(self, x):
        return self.body(x)

class BatchMean(Mlp):  # one row for the whole batch
    def forward(self, x):
        return self.body(x).mean(0, keepdim=True)

class FirstTwoRows(Mlp):  # right for one and two samples, wrong for a batch of 16
    def forward(self, x):
        return self.body(x)[:2]

class RaisesOnBatch(Mlp):
    def forward(self, x):
        if x.size(0) > 2:
            raise RuntimeError("batch too big")
        return self.body(x)

class TwoArgs(Mlp):
    def forward(self, x, y):
        return self.body(x) + y

class IntOutput(Mlp):
    def forward(self, x):
        return self.body(x).argmax(1)

class ScalarOutput(Mlp):
    def forward(self, x):
        return self.body(x).sum()

class ListOutput(Mlp):
    def forward(self, x) -> List[torch.Tensor]:
        return [self.body(x)]

class Detached(Mlp):
    def forward(self, x):
        return self.body(x).detach()

class NanOutput(Mlp):
    def forward(self, x):
        return self.body(x) * float("nan")

class NoParameters(nn.Module):
    def forward(self, x):
        return x[:, :1] * 2
"""
with open(os.path.join(out, "odd_models.py"), "w") as f:
    f.write(MODELS)
sys.path.insert(0, out)
import odd_models as m

torch.manual_seed(0)
for name, model in {
    "batch-mean": m.BatchMean(), "first-two-rows": m.FirstTwoRows(),
    "raises-on-batch": m.RaisesOnBatch(), "two-args": m.TwoArgs(), "int-output": m.IntOutput(),
    "scalar-output": m.ScalarOutput(), "list-output": m.ListOutput(),
    "double": m.Mlp().double(), "hidden-8": m.Mlp(hidden=8), "detached": m.Detached(),
    "nan-output": m.NanOutput(), "no-parameters": m.NoParameters(),
    "frozen": m.Mlp().requires_grad_(False),
}.items():
    torch.jit.script(model).save(os.path.join(out, name + ".pt"))
torch.save(torch.zeros(3), os.path.join(out, "tensor-torch-save.pt"))
with zipfile.ZipFile(os.path.join(out, "zip-not-torchscript.pt"), "w") as z:
    z.writestr("archive/data.pkl", b"not a pickle")
    z.writestr("archive/version", b"3\n")
"#;

/// Writes the odd modules and files to `<dir>/odd`; returns that folder.
pub(super) fn make(dir: &Path) -> PathBuf {
    let odd = dir.join("odd");
    std::fs::create_dir_all(&odd).unwrap();
    run_python(ODD_MODULES, &[&path(&odd)]);
    odd
}
