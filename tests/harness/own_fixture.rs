//! The models and data of the bring-your-own-experiment tests, made once per test run by one
//! Python process (scripts/export_experiment.py's `export`), with PyTorch's own numbers for them.
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde_json::Value;

use crate::common::run_python;

/// Every loss, with the model the fixture pairs it with.
pub const LOSSES: [&str; 7] = [
    "mse",
    "l1",
    "smooth-l1",
    "huber",
    "cross-entropy",
    "nll",
    "bce-with-logits",
];
/// Training samples: not a multiple of the batch size (12 batches of 16 and one of 11).
pub const N: u64 = 203;
pub const N_EVAL: u64 = 61;
pub const BATCH: &str = "16";
pub const EPOCHS: usize = 3;
pub const LR: &str = "0.05";

/// Writes `<out>/<loss>/{model.pt, data.safetensors, reference.safetensors}` for every loss,
/// `<out>/bad/{tuple.pt, state_dict.pt}`, and prints PyTorch's numbers as one JSON object:
/// per loss, the initial model's one-shot mean loss over each split (`model.eval()`, one forward
/// pass of the whole split), the mean of its batch means, its accuracy, and the per-epoch train
/// and eval losses of the seed's loop (DataLoader without shuffling, SGD with foreach=False).
const GENERATE: &str = r#"
import copy, json, os, sys
sys.path.insert(0, "scripts")
import torch, torch.nn as nn, torch.nn.functional as F
from safetensors.torch import save_file
from torch.utils.data import DataLoader, TensorDataset
from export_experiment import export

torch.set_num_threads(1)
out = sys.argv[1]
N, N_EVAL, BATCH, EPOCHS, LR = 203, 61, 16, 3, 0.05
CRITERIA = {"mse": F.mse_loss, "l1": F.l1_loss, "smooth-l1": F.smooth_l1_loss,
            "huber": F.huber_loss, "cross-entropy": F.cross_entropy, "nll": F.nll_loss,
            "bce-with-logits": F.binary_cross_entropy_with_logits}

# torch.jit.script reads a model's source file, so the models go to a module of their own.
MODELS = """
import torch, torch.nn as nn, torch.nn.functional as F

class Mlp(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(n_in, 16), nn.Linear(16, n_out)
    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))

class BnMlp(nn.Module):  # batch norm: train and eval mode give different outputs
    def __init__(self, n_in, n_out):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(n_in, 16), nn.BatchNorm1d(16), nn.ReLU())
        self.head = nn.Linear(16, n_out)
    def forward(self, x):
        return self.head(self.body(x))

class LogSoftmaxMlp(Mlp):
    def forward(self, x):
        return F.log_softmax(super().forward(x), dim=1)

class Cnn(nn.Module):  # inputs [N, 1, 6, 6]
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.fc = nn.Linear(4 * 4 * 4, 1)
    def forward(self, x):
        return self.fc(torch.relu(self.conv(x)).flatten(1))

class Pair(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(5, 1)
    def forward(self, x):
        y = self.fc(x)
        return y, y
"""
with open(os.path.join(out, "fixture_models.py"), "w") as f:
    f.write(MODELS)
sys.path.insert(0, out)
from fixture_models import BnMlp, Cnn, LogSoftmaxMlp, Mlp, Pair

def task(loss, g):
    n = N + N_EVAL
    if loss == "huber":
        x = torch.randn(n, 1, 6, 6, generator=g)
        return Cnn(), x, 2 * x[:, :, 1:3, 2:4].sum((1, 2, 3)).unsqueeze(1), "script"
    x = torch.randn(n, 5, generator=g)
    signal = x @ torch.randn(5, 3, generator=g)
    if loss in ("mse", "smooth-l1"):
        return Mlp(5, 1), x, 2 * signal[:, :1] + 0.1 * torch.randn(n, 1, generator=g), "script"
    if loss == "l1":
        return Mlp(5, 2), x, signal[:, :2].contiguous(), "trace"
    if loss == "cross-entropy":
        return BnMlp(5, 4), x, signal.argmax(1) + (signal[:, 0] > 1).long(), "script"
    if loss == "nll":
        return LogSoftmaxMlp(5, 3), x, signal.argmax(1), "trace"
    return Mlp(5, 1), x, (signal[:, :1] > 0).float(), "script"

def accuracy(loss, out, y):
    if loss in ("cross-entropy", "nll"):
        return (out.argmax(1) == y).double().mean().item()
    if loss == "bce-with-logits":
        return ((out > 0).to(y.dtype) == y).double().mean().item()
    return None

def seed_eval(model, crit, x, y):
    model.eval()
    with torch.no_grad():
        total, means = 0.0, []
        for xb, yb in DataLoader(TensorDataset(x, y), batch_size=BATCH, shuffle=False):
            batch_mean = crit(model(xb), yb).item()
            total += batch_mean * xb.size(0)
            means.append(batch_mean)
        out = model(x)
        return {"one_shot": crit(out, y).item(), "seed": total / len(x),
                "mean_of_batch_means": sum(means) / len(means), "batches": len(means)}, out

result = {}
for k, (loss, crit) in enumerate(CRITERIA.items()):
    torch.manual_seed(k)
    g = torch.Generator().manual_seed(100 + k)
    model, x, y, method = task(loss, g)
    x, ex, y, ey = x[:N], x[N:], y[:N], y[N:]
    export(model, x, y, ex, ey, out_dir=os.path.join(out, loss), method=method)
    r = {}
    for split, (xs, ys) in {"train": (x, y), "eval": (ex, ey)}.items():
        r[split], outputs = seed_eval(model, crit, xs, ys)
        r[split]["accuracy"] = accuracy(loss, outputs, ys)
    ref = copy.deepcopy(model)
    opt = torch.optim.SGD(ref.parameters(), lr=LR, foreach=False)
    loader = DataLoader(TensorDataset(x, y), batch_size=BATCH, shuffle=False)
    r["train_loss"], r["eval_loss"] = [], []
    for epoch in range(EPOCHS):
        ref.train()
        total_loss = 0.0
        for inputs, targets in loader:
            opt.zero_grad()
            _loss = crit(ref(inputs), targets)
            _loss.backward()
            opt.step()
            total_loss += _loss.item() * inputs.size(0)
        r["train_loss"].append(total_loss / len(loader.dataset))
        r["eval_loss"].append(seed_eval(ref, crit, ex, ey)[0]["seed"])
    state = {n: t.detach().contiguous() for n, t in ref.state_dict().items()}
    save_file(state, os.path.join(out, loss, "reference.safetensors"))
    result[loss] = r

bad = os.path.join(out, "bad")
os.makedirs(bad, exist_ok=True)
torch.jit.script(Pair()).save(os.path.join(bad, "tuple.pt"))
torch.save(Mlp(5, 1).state_dict(), os.path.join(bad, "state_dict.pt"))
print(json.dumps(result))
"#;

/// The fixture folder and PyTorch's numbers (generated on first use).
pub struct Fixture {
    pub dir: PathBuf,
    pub reference: Value,
}

impl Fixture {
    /// `<dir>/<loss>/model.pt`.
    pub fn model(&self, loss: &str) -> String {
        path(&self.dir.join(loss).join("model.pt"))
    }

    /// `<dir>/<loss>/data.safetensors`.
    pub fn data(&self, loss: &str) -> String {
        path(&self.dir.join(loss).join("data.safetensors"))
    }

    /// A number of the reference output, by JSON pointer (`/mse/train/one_shot`).
    pub fn number(&self, pointer: &str) -> f64 {
        self.reference
            .pointer(pointer)
            .and_then(Value::as_f64)
            .unwrap_or_else(|| panic!("no number at {pointer}"))
    }
}

/// The fixture, made by the first test that asks for it.
pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("own_experiment");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("fixture dir");
        let stdout = run_python(GENERATE, &[&path(&dir)]);
        let reference = serde_json::from_str(stdout.trim()).expect("the generator prints JSON");
        Fixture { dir, reference }
    })
}

/// A path as a command-line argument.
pub fn path(p: &Path) -> String {
    p.to_str().expect("utf-8 path").to_string()
}

/// `|a - b| / |b|`.
pub fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs().max(f64::MIN_POSITIVE)
}
