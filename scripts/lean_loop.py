"""The lean PyTorch eager loop of scripts/bench.sh: what a PyTorch user writes when speed is all
that matters — the dataset on the device, one gather per epoch, slices as batches, no DataLoader,
no loss read-back, no accounting, evaluation or files. The same model (scripts/torchref), data,
batch order, optimizer (SGD) and seed as `tch-harness train`; one JSON line per epoch on stdout,
timed over the same span as the harness's `train_seconds` (on CUDA, up to a synchronisation):

    .venv/bin/python scripts/lean_loop.py --experiment digits-mlp --epochs 50 --threads 1 --device cpu
"""
import argparse
import json
import time

import torch

from torchref.criterion import CRITERIA
from torchref.data import shuffle_seed
from torchref.experiments import EXPERIMENTS, load_data, make_net
from torchref.run import resolve_device


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--experiment", default="digits-mlp", choices=sorted(EXPERIMENTS))
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--threads", type=int)
    p.add_argument("--device", default="cpu")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    torch.manual_seed(args.seed)
    inputs, targets, _, _ = load_data(args.experiment)
    model = make_net(args.experiment).to(device)
    inputs, targets = inputs.to(device), targets.to(device)
    criterion = CRITERIA[EXPERIMENTS[args.experiment]["loss"]]
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    n, size = len(inputs), args.batch_size
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        torch.manual_seed(shuffle_seed(args.seed, epoch))
        order = torch.randperm(n).to(device)
        xs, ys = inputs[order], targets[order]
        for i in range(0, n, size):
            optimizer.zero_grad()
            criterion(model(xs[i:i + size]), ys[i:i + size]).backward()
            optimizer.step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        print(json.dumps({"epoch": epoch, "train_samples": n, "train_seconds": seconds}), flush=True)


if __name__ == "__main__":
    main()
