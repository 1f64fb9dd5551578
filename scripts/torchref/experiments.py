"""The built-in experiments of tch-harness in PyTorch: each model as its `nn.Module` (the Rust
side builds its layers in the same order, so the same seed gives the same weights) and each
dataset as the harness loads it. `scripts/reference.py` trains them; tests import them (through
`scripts/experiments.py`).

    digits-mlp         8x8 digits, Net([64, 128, 10]), cross-entropy
    linear-regression  synthetic y = x.w + b + noise, Net([8, 1]), MSE
    breast-cancer      Wisconsin breast cancer, Net([30, 16, 1]), BCE with logits
    digits-cnn         8x8 digits, DigitsCnn (conv, batch norm, pooling, dropout), cross-entropy
    cmudict-gru        words of the CMU Pronouncing Dictionary, WordGru (embedding, GRU), a
                       character-level language model: cross-entropy over the real letters,
                       padding ignored (targets -100)
"""
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file

DATA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "data")


class Net(nn.Module):
    """fc1, ReLU, fc2, ReLU, ..., fcN: the harness's `Mlp`."""

    def __init__(self, sizes):
        super().__init__()
        self.depth = len(sizes) - 1
        for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
            setattr(self, f"fc{i + 1}", nn.Linear(n_in, n_out))

    def forward(self, x):
        for i in range(1, self.depth + 1):
            x = getattr(self, f"fc{i}")(x)
            if i < self.depth:
                x = F.relu(x)
        return x


class DigitsCnn(nn.Module):
    """The harness's `DigitsCnn`: two conv-batchnorm-relu-maxpool blocks over the 8x8 image,
    dropout, then two linear layers."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(32)
        self.dropout = nn.Dropout(0.25)
        self.fc1 = nn.Linear(32 * 2 * 2, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = x.view(-1, 1, 8, 8)
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)  # [N, 16, 4, 4]
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)  # [N, 32, 2, 2]
        x = self.dropout(torch.flatten(x, 1))
        return self.fc2(F.relu(self.fc1(x)))


WORD_TOKENS = 28  # padding, word boundary, a..z (scripts/convert_cmudict.py)


class WordGru(nn.Module):
    """The harness's `WordGru`: token embedding (padding 0), one GRU layer, a linear head; the
    output is [N, tokens, T] so that cross-entropy's class dimension is dim 1."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(WORD_TOKENS, 32, padding_idx=0)
        self.rnn = nn.GRU(32, 64, batch_first=True)
        self.head = nn.Linear(64, WORD_TOKENS)

    def forward(self, x):
        out, _ = self.rnn(self.embed(x))
        return self.head(out).transpose(1, 2)


EXPERIMENTS = {
    "digits-mlp": {"net": lambda: Net([64, 128, 10]), "loss": "cross-entropy", "file": "digits.safetensors"},
    "linear-regression": {"net": lambda: Net([8, 1]), "loss": "mse", "file": None},
    "breast-cancer": {"net": lambda: Net([30, 16, 1]), "loss": "bce-with-logits",
                      "file": "breast_cancer.safetensors"},
    "digits-cnn": {"net": DigitsCnn, "loss": "cross-entropy", "file": "digits.safetensors"},
    "cmudict-gru": {"net": WordGru, "loss": "cross-entropy", "file": "cmudict_words.safetensors"},
}


def make_net(experiment):
    """The experiment's model, drawing its initial weights from the global generator now."""
    return EXPERIMENTS[experiment]["net"]()


def synthetic_regression():
    """y = x @ w + b + 0.1 * noise, drawn in this order from the (seeded) global generator."""
    x = torch.randn(1250, 8)
    w = torch.randn(8, 1)
    b = torch.randn(1)
    noise = torch.randn(1250, 1)
    y = x @ w + b + 0.1 * noise
    return x[:1000], y[:1000], x[1000:], y[1000:]


def load_data(experiment, data_file=None):
    """(inputs, targets, eval_inputs, eval_targets); the eval pair is None when a --data file has
    none."""
    if data_file is not None:
        d = load_file(data_file)
        unknown = sorted(set(d) - {"inputs", "targets", "eval_inputs", "eval_targets"})
        if unknown or "inputs" not in d or "targets" not in d:
            raise SystemExit(f"error: {data_file}: needs 'inputs' and 'targets' (and optionally "
                             f"'eval_inputs', 'eval_targets'), holds {sorted(d)}")
        return d["inputs"], d["targets"], d.get("eval_inputs"), d.get("eval_targets")
    spec = EXPERIMENTS[experiment]
    if spec["file"] is None:
        return synthetic_regression()
    d = load_file(os.path.join(DATA_DIR, spec["file"]))
    return d["inputs"], d["targets"], d["eval_inputs"], d["eval_targets"]


