//! The models and data of the counting and accumulation tests, made once per test run by one
//! Python process, with PyTorch's own numbers for them.
use std::path::PathBuf;
use std::sync::OnceLock;

use serde_json::Value;

use crate::common::run_python;
use crate::own_fixture::path;

/// Batch size of the tests (203 samples: 12 batches of 16 and one of 11).
pub const BATCH: &str = "16";
/// The class weights and label smoothing of the weighted case.
pub const WEIGHTS: &str = "0.5,2,1,0.25,1.5";
pub const SMOOTHING: &str = "0.1";
/// The positive weights of the multi-label case (one per label).
pub const POS_WEIGHT: &str = "2,0.5,1";

/// Writes, under the output folder:
/// - `tokens/`: a tagger, `nn.Embedding(20, 8)`, tanh, `nn.Linear(8, 5)`, permuted to logits
///   `[N, 5, 7]`, on int64 token ids `[N, 7]` with targets `[N, 7]` padded with -100 after each
///   sequence's random length (203 training, 61 held-out sequences): `data.safetensors`;
///   `empty_batch.safetensors`, the same with every target of samples 16..32 of each split (the
///   second batch of 16 in stored order) set to -100; `pad_minus1.safetensors`, padded with -1;
///   `pad_zero.safetensors`, padded with class 0 (for `--ignore-index 0`: class 0 is ignored).
/// - `multilabel/`: an MLP with 3 logits per sample and 0/1 targets `[N, 3]`.
/// - `blowup/`: `nn.Linear(5, 1)` whose output is multiplied by 1e30 where the first input is
///   above 100 (sample 37 only), so that its squared error overflows float32; train split only.
///
/// and prints PyTorch's numbers for the initial models (`model.eval()`, whole splits):
/// per case, the one-shot mean `criterion(model(inputs), targets)`, the seed's formula (batch mean
/// × batch size over N, batches of 16 in stored order), the non-ignored targets, their weight sum,
/// and the accuracy over the non-ignored targets.
const GENERATE: &str = r#"
import json, os, sys
sys.path.insert(0, "scripts")
import torch, torch.nn as nn, torch.nn.functional as F
from safetensors.torch import save_file
from export_experiment import export

torch.set_num_threads(1)
out = sys.argv[1]
N, N_EVAL, T, V, C, BATCH = 203, 61, 7, 20, 5, 16
WEIGHTS, SMOOTHING, POS = [0.5, 2.0, 1.0, 0.25, 1.5], 0.1, [2.0, 0.5, 1.0]

# torch.jit.script reads a model's source file, so the models go to a module of their own.
MODELS = """
import torch, torch.nn as nn

class Tagger(nn.Module):  # token ids [N, T] -> logits [N, C, T]
    def __init__(self, vocab: int, classes: int):
        super().__init__()
        self.embed, self.fc = nn.Embedding(vocab, 8), nn.Linear(8, classes)
    def forward(self, x):
        return self.fc(torch.tanh(self.embed(x))).permute(0, 2, 1)

class MultiLabel(nn.Module):  # [N, 5] -> 3 logits, one per label
    def __init__(self):
        super().__init__()
        self.fc1, self.fc2 = nn.Linear(5, 16), nn.Linear(16, 3)
    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(x)))

class Blowup(nn.Module):  # a linear model whose output overflows where x[:, 0] > 100
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(5, 1)
    def forward(self, x):
        return self.fc(x) * (1.0 + 1e30 * (x[:, :1] > 100).float())
"""
with open(os.path.join(out, "loss_models.py"), "w") as f:
    f.write(MODELS)
sys.path.insert(0, out)
from loss_models import Blowup, MultiLabel, Tagger

g = torch.Generator().manual_seed(5)
n = N + N_EVAL
tokens = torch.randint(0, V, (n, T), generator=g)
labels = (tokens * 3 + torch.roll(tokens, 1, 1)) % C          # learnable from the tokens
lengths = torch.randint(1, T + 1, (n,), generator=g)
padded = labels.masked_fill(torch.arange(T) >= lengths[:, None], -100)
empty = padded.clone()
empty[16:32] = -100
empty[N + 16:N + 32] = -100

torch.manual_seed(0)
tagger = Tagger(V, C)
tdir = os.path.join(out, "tokens")
export(tagger, tokens[:N], padded[:N], tokens[N:], padded[N:], out_dir=tdir)
def save(name, y):
    save_file({"inputs": tokens[:N], "targets": y[:N], "eval_inputs": tokens[N:],
               "eval_targets": y[N:]}, os.path.join(tdir, name))
save("empty_batch.safetensors", empty)
save("pad_minus1.safetensors", padded.masked_fill(padded == -100, -1))
pad_zero = padded.masked_fill(padded == -100, 0)   # class 0 doubles as padding: --ignore-index 0
save("pad_zero.safetensors", pad_zero)

xm = torch.randn(n, 5, generator=g)
ym = (xm @ torch.randn(5, 3, generator=g) > 0.3).float()
torch.manual_seed(1)
multi = MultiLabel()
export(multi, xm[:N], ym[:N], xm[N:], ym[N:], out_dir=os.path.join(out, "multilabel"))

xb = torch.randn(N, 5, generator=g)
xb[37, 0] = 1000.0
yb = xb @ torch.randn(5, 1, generator=g)
torch.manual_seed(2)
export(Blowup(), xb, yb, out_dir=os.path.join(out, "blowup"))

def seed_formula(crit, o, y):
    total = 0.0
    for i in range(0, len(y), BATCH):
        total += crit(o[i:i + BATCH], y[i:i + BATCH]).item() * len(y[i:i + BATCH])
    return total / len(y)

w32 = torch.tensor(WEIGHTS, dtype=torch.float64).to(torch.float32)
p32 = torch.tensor(POS, dtype=torch.float64).to(torch.float32)
CASES = {  # model, inputs, targets, criterion, ignore_index
    "plain": (tagger, tokens, padded, lambda o, y: F.cross_entropy(o, y), -100),
    "weighted": (tagger, tokens, padded,
                 lambda o, y: F.cross_entropy(o, y, weight=w32, label_smoothing=SMOOTHING), -100),
    "empty_batch": (tagger, tokens, empty, lambda o, y: F.cross_entropy(o, y), -100),
    "pad_zero": (tagger, tokens, pad_zero, lambda o, y: F.cross_entropy(o, y, ignore_index=0), 0),
    "multilabel": (multi, xm, ym,
                   lambda o, y: F.binary_cross_entropy_with_logits(o, y, pos_weight=p32), None),
}
result = {}
with torch.no_grad():
    for name, (model, x, y, crit, ignore) in CASES.items():
        model.eval()
        outputs = model(x)
        r = {}
        for split, sl in [("train", slice(0, N)), ("eval", slice(N, n))]:
            o, t = outputs[sl], y[sl]
            r[split] = {"one_shot": crit(o, t).item()}
            if ignore is not None:
                keep = t != ignore
                r[split].update(count=keep.sum().item(),
                                weight_sum=w32.double()[t[keep]].sum().item(),
                                accuracy=((o.argmax(1) == t) & keep).sum().item() / keep.sum().item())
            if name != "empty_batch":
                r[split]["seed"] = seed_formula(crit, o, t)
        result[name] = r
print(json.dumps(result))
"#;

/// The fixture folder and PyTorch's numbers.
pub struct LossFixture {
    pub dir: PathBuf,
    pub reference: Value,
}

impl LossFixture {
    /// `<dir>/<name>/model.pt`.
    pub fn model(&self, name: &str) -> String {
        path(&self.dir.join(name).join("model.pt"))
    }

    /// `<dir>/<name>/<file>`.
    pub fn file(&self, name: &str, file: &str) -> String {
        path(&self.dir.join(name).join(file))
    }

    /// A number of PyTorch's output, by JSON pointer (`/plain/train/one_shot`).
    pub fn number(&self, pointer: &str) -> f64 {
        self.reference
            .pointer(pointer)
            .and_then(Value::as_f64)
            .unwrap_or_else(|| panic!("no number at {pointer}"))
    }
}

/// The fixture, made by the first test that asks for it.
pub fn loss_fixture() -> &'static LossFixture {
    static FIXTURE: OnceLock<LossFixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("loss_counts");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("fixture dir");
        let stdout = run_python(GENERATE, &[&path(&dir)]);
        let reference = serde_json::from_str(stdout.trim()).expect("the generator prints JSON");
        LossFixture { dir, reference }
    })
}

/// `--model <name>/model.pt --data <name>/<data> --loss <loss> --batch-size 16`, then `extra`.
pub fn task(name: &str, data: &str, loss: &str, extra: &[&str]) -> Vec<String> {
    let fx = loss_fixture();
    let mut args = vec![
        "--model".to_string(),
        fx.model(name),
        "--data".into(),
        fx.file(name, data),
        "--loss".into(),
        loss.into(),
        "--batch-size".into(),
        BATCH.into(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}
