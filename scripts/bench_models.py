"""Models for scripts/bench_ddp.sh, saved as TorchScript so that the harness (`--model`) and
PyTorch's DDP (scripts/ddp_bench.py --model) train the very same network on data/digits.

    .venv/bin/python scripts/bench_models.py OUT.pt

`ConvNet`: two 3x3 convolutions (1->32->64 channels) over the 8x8 digits, a 2x2 max-pool and a
linear layer: 37k parameters but about 2.6M multiply-adds a sample, so a step's time grows with
its batch (compute-bound) while its gradient stays small — the case data parallelism is for.
"""
import sys

import torch
import torch.nn as nn


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 32, 3, padding=1)
        self.c2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc = nn.Linear(64 * 16, 10)

    def forward(self, x):
        x = torch.relu(self.c1(x.view(-1, 1, 8, 8)))
        x = torch.max_pool2d(torch.relu(self.c2(x)), 2)
        return self.fc(x.flatten(1))


if __name__ == "__main__":
    torch.manual_seed(0)
    torch.jit.script(ConvNet()).save(sys.argv[1])
