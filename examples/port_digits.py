"""The PyTorch experiment that examples/port_digits.rs ports to Rust by hand — with its own tch
loop rather than the harness's — and the porting guide's worked example (docs/porting.md): a
small MLP on the 8x8 digits with Adam, traced step by step with scripts/trace.py.

    .venv/bin/python examples/port_digits.py runs/digits-python
    cargo run --release --example port_digits -- runs/digits-rust [--break KIND]
    cargo run --release -- diff runs/digits-rust runs/digits-python

The three lines that make it comparable with a Rust twin: the sample order comes from the
harness's EpochShuffle sampler, the optimizer runs with foreach=False, and the trace is written
after each optimizer.step().
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from experiments import load_data  # noqa: E402  the harness's digits
from reference import EpochShuffle  # noqa: E402  the harness's epoch order
from trace import Tracer  # noqa: E402  scripts/trace.py

EPOCHS, BATCH_SIZE, LR, SEED = 3, 64, 1e-3, 0


class DigitsNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "runs/port-digits-python"
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    x, y, _, _ = load_data("digits-mlp")
    model = DigitsNet()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR, foreach=False)
    sampler = EpochShuffle(len(x), SEED)
    # The index rides along with each sample, for the trace's batch fingerprint.
    loader = DataLoader(TensorDataset(x, y, torch.arange(len(x))), batch_size=BATCH_SIZE,
                        sampler=sampler, generator=torch.Generator())
    tracer = Tracer(os.path.join(out, "trace.jsonl"))
    tracer.start(model)
    with open(os.path.join(out, "metrics.jsonl"), "w") as metrics:
        for epoch in range(1, EPOCHS + 1):
            sampler.epoch = epoch
            total_loss, batches = 0.0, 0
            for inputs, targets, indices in loader:
                optimizer.zero_grad()
                outputs = model(inputs)
                _loss = F.cross_entropy(outputs, targets)  # batch mean
                _loss.backward()
                optimizer.step()
                batches += 1
                tracer.step(model, [_loss.item()], indices, epoch, batches)
                batch_size = inputs.size(0)
                total_loss += _loss.item() * batch_size  # batch sum
            average_loss = total_loss / len(loader.dataset)  # NOT / len(loader)
            record = {"epoch": epoch, "train_loss": average_loss, "train_samples": len(loader.dataset),
                      "batches": batches}
            metrics.write(json.dumps(record) + "\n")
            print(f"epoch {epoch:>3}/{EPOCHS}  train_loss {average_loss:.6f}  batches {batches}")
    tracer.close()


if __name__ == "__main__":
    main()
