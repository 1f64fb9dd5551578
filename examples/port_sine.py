"""The original PyTorch experiment that examples/port_sine.rs ports to Rust (README, "Porting a
PyTorch experiment"): a small regression of sin(x), written as the seed's loop.

    .venv/bin/python examples/port_sine.py runs/sine-python

Two lines make it comparable with the harness: the sample order comes from the harness's
EpochShuffle sampler (scripts/reference.py), and the optimizer runs with foreach=False. It writes
metrics.jsonl in the harness's format, so `tch-harness diff` can compare the two runs.
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from reference import EpochShuffle  # noqa: E402  the harness's epoch order

EPOCHS, BATCH_SIZE, LR, MOMENTUM, SEED = 30, 32, 0.05, 0.9, 0


class SineNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(1, 32)
        self.fc2 = nn.Linear(32, 1)

    def forward(self, x):
        return self.fc2(torch.tanh(self.fc1(x)))


def sine_data():
    x = torch.linspace(-3.0, 3.0, 301).unsqueeze(1)
    eval_x = torch.linspace(-2.95, 2.95, 60).unsqueeze(1)
    return x, torch.sin(x), eval_x, torch.sin(eval_x)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "runs/port-sine-python"
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    torch.manual_seed(SEED)
    x, y, eval_x, eval_y = sine_data()
    model = SineNet()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, foreach=False)
    sampler = EpochShuffle(len(x), SEED)
    loader = DataLoader(TensorDataset(x, y), batch_size=BATCH_SIZE, sampler=sampler)
    eval_loader = DataLoader(TensorDataset(eval_x, eval_y), batch_size=BATCH_SIZE)
    with open(os.path.join(out, "metrics.jsonl"), "w") as metrics:
        for epoch in range(1, EPOCHS + 1):
            sampler.epoch = epoch
            model.train()
            total_loss, batches = 0.0, 0
            for inputs, targets in loader:
                optimizer.zero_grad()
                outputs = model(inputs)
                _loss = F.mse_loss(outputs, targets)  # batch mean
                _loss.backward()
                optimizer.step()
                batch_size = inputs.size(0)
                total_loss += _loss.item() * batch_size  # batch sum
                batches += 1
            average_loss = total_loss / len(loader.dataset)  # NOT / len(loader)
            model.eval()
            eval_total = 0.0
            with torch.no_grad():
                for inputs, targets in eval_loader:
                    eval_total += F.mse_loss(model(inputs), targets).item() * inputs.size(0)
            record = {"epoch": epoch, "train_loss": average_loss, "eval_loss": eval_total / len(eval_loader.dataset),
                      "train_samples": len(loader.dataset), "batches": batches}
            metrics.write(json.dumps(record) + "\n")
            print(f"epoch {epoch:>3}/{EPOCHS}  train_loss {average_loss:.6f}  eval_loss {record['eval_loss']:.6f}")


if __name__ == "__main__":
    main()
