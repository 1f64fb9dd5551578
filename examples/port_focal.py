"""The original PyTorch experiment that examples/port_focal.rs ports to Rust (docs/porting.md,
"Your own loss"): an MLP on the 8x8 digits trained with a focal loss of its own, written as the
seed's loop.

    .venv/bin/python examples/port_focal.py runs/focal-python

As in port_sine.py, the sample order comes from the harness's EpochShuffle sampler
(scripts/reference.py) and the optimizer runs with foreach=False. It writes metrics.jsonl in the
harness's format, so `tch-harness diff` can compare the two runs.
"""
import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import load_file
from torch.utils.data import DataLoader, TensorDataset

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "scripts"))
from reference import EpochShuffle  # noqa: E402  the harness's epoch order

EPOCHS, BATCH_SIZE, LR, MOMENTUM, SEED, GAMMA = 5, 64, 0.1, 0.9, 0, 2.0


def focal_loss(logits, targets, gamma=GAMMA):
    """Focal loss (Lin et al. 2017) over class indices, mean over the samples."""
    log_pt = F.log_softmax(logits, dim=1).gather(1, targets.unsqueeze(1)).squeeze(1)
    pt = log_pt.exp()
    return (-(1 - pt) ** gamma * log_pt).mean()


class FocalNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(64, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x)))


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "runs/port-focal-python"
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(1)
    data = load_file(os.path.join(HERE, "..", "data", "digits.safetensors"))
    torch.manual_seed(SEED)
    model = FocalNet()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM, foreach=False)
    train = TensorDataset(data["inputs"], data["targets"])
    sampler = EpochShuffle(len(train), SEED)
    loader = DataLoader(train, batch_size=BATCH_SIZE, sampler=sampler)
    eval_loader = DataLoader(TensorDataset(data["eval_inputs"], data["eval_targets"]), batch_size=BATCH_SIZE)
    with open(os.path.join(out, "metrics.jsonl"), "w") as metrics:
        for epoch in range(1, EPOCHS + 1):
            sampler.epoch = epoch
            model.train()
            total_loss, batches = 0.0, 0
            for inputs, targets in loader:
                optimizer.zero_grad()
                outputs = model(inputs)
                _loss = focal_loss(outputs, targets)  # batch mean
                _loss.backward()
                optimizer.step()
                total_loss += _loss.item() * inputs.size(0)  # batch sum
                batches += 1
            average_loss = total_loss / len(loader.dataset)  # NOT / len(loader)
            model.eval()
            eval_total, correct = 0.0, 0
            with torch.no_grad():
                for inputs, targets in eval_loader:
                    outputs = model(inputs)
                    eval_total += focal_loss(outputs, targets).item() * inputs.size(0)
                    correct += (outputs.argmax(1) == targets).sum().item()
            n_eval = len(eval_loader.dataset)
            record = {"epoch": epoch, "train_loss": average_loss, "eval_loss": eval_total / n_eval,
                      "eval_accuracy": correct / n_eval, "train_samples": len(loader.dataset), "batches": batches}
            metrics.write(json.dumps(record) + "\n")
            print(f"epoch {epoch:>3}/{EPOCHS}  train_loss {average_loss:.6f}  eval_loss {record['eval_loss']:.6f}"
                  f"  eval_accuracy {record['eval_accuracy']:.4f}")


if __name__ == "__main__":
    main()
