"""PyTorch's own data-parallel training as users write it, for speed and for what its epoch loss
counts: DistributedDataParallel + DistributedSampler(shuffle, drop_last=False) + DataLoader, a
per-rank batch of --batch-size // N, plain SGD, an experiment's model and data from
scripts/torchref/experiments.py, gloo on 127.0.0.1, one torch thread per process (torch.multiprocessing
starts the N processes; --nproc 1 is DDP over a world of one, the same code).

    .venv/bin/python scripts/ddp_bench.py --experiment digits-mlp --nproc 2 --epochs 5 --warmup-epochs 1
    .venv/bin/python scripts/ddp_bench.py --model m.pt --data data/digits.safetensors --nproc 2

--model FILE trains a TorchScript model (torch.jit.load, DDP around it) on --data's `inputs` and
`targets` with --loss (default: cross-entropy), as scripts/bench_ddp.sh does.

Rank 0 prints one JSON line: samples_per_s (dataset length x timed epochs / their wall seconds,
after the warm-up epochs), and the last epoch's loss two ways: as users compute it (each rank's
sum of batch means / len(loader), then averaged over ranks: equal weight for unequal batches, and
DistributedSampler's padding counted twice), and correctly (sum of batch mean x count over
count, reduced as (sum, count), each sample once: the padded repeats are left out of the tally,
not out of the gradients). samples_counted is how many samples the ranks visited, padding included.
"""
import argparse
import json
import os
import socket
import sys
import time
from datetime import timedelta

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, TensorDataset

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torchref.criterion import CRITERIA, Criterion
from torchref.experiments import EXPERIMENTS, load_data, make_net


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def epoch(model, loader, optimizer, loss_fn, rank, world):
    """One epoch as users write it, plus the tallies; returns (users' loss, correct sum, count,
    samples visited), this rank's."""
    running, loss_sum, count, visited = 0.0, 0.0, 0.0, 0
    # Rank r's j-th sample is position r + j*world of the padded order, whose tail (positions
    # >= n) repeats its head: its first `real` samples are real, the rest padding.
    real = -(-(len(loader.dataset) - rank) // world)
    for inputs, targets, counts in loader:
        optimizer.zero_grad()
        outputs = model(inputs)
        loss = loss_fn(outputs, targets)
        loss.backward()
        optimizer.step()
        running += loss.item()  # the common recipe: the batch mean, whatever the batch
        visited += len(inputs)
        value = loss.item()
        if visited > real:  # padding here: re-score the real samples (same outputs, no forward)
            keep = torch.arange(visited - len(inputs), visited) < real
            counts = counts[keep]
            if keep.any():
                value = loss_fn(outputs.detach()[keep], targets[keep]).item()
        c = float(counts.sum())  # the batch mean is over this many (samples, or counted targets)
        if c > 0:
            loss_sum, count = loss_sum + value * c, count + c
    return running / len(loader), loss_sum, count, visited


def worker(rank, args, port):
    torch.set_num_threads(1)
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")  # loopback, not the hostname's address
    world = args.nproc
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=world, timeout=timedelta(seconds=60))
    torch.manual_seed(args.seed)
    x, y, _, _ = load_data(args.experiment, args.data)
    net = make_net(args.experiment) if args.model is None else torch.jit.load(args.model)
    model = DistributedDataParallel(net)
    loss_name = args.loss or ("cross-entropy" if args.model else EXPERIMENTS[args.experiment]["loss"])
    loss_fn = CRITERIA[loss_name]
    # Each sample's count (Criterion.sample_counts) rides along, known before timing starts.
    dataset = TensorDataset(x, y, Criterion(loss_name, {}, "cpu").sample_counts(y))
    sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=True,
                                 seed=args.seed, drop_last=False)
    loader = DataLoader(dataset, batch_size=args.batch_size // world, sampler=sampler)
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    model.train()
    for e in range(args.warmup_epochs + args.epochs):
        if e == args.warmup_epochs:
            dist.barrier()
            started = time.perf_counter()
        sampler.set_epoch(e)
        users, loss_sum, count, visited = epoch(model, loader, optimizer, loss_fn, rank, world)
        # The recipe's all-reduce of the rank averages; and the (sum, count) one.
        mean = torch.tensor([users], dtype=torch.float64)
        dist.all_reduce(mean)
        tally = torch.tensor([loss_sum, count, visited], dtype=torch.float64)
        dist.all_reduce(tally)
    dist.barrier()
    seconds = time.perf_counter() - started
    if rank == 0:
        print(json.dumps({
            "impl": "pytorch-ddp", "experiment": "torchscript" if args.model else args.experiment,
            "nproc": world,
            "batch_size": args.batch_size, "samples_per_s": len(dataset) * args.epochs / seconds,
            "epoch_loss_as_users_compute": mean.item() / world,
            "epoch_loss_correct": (tally[0] / tally[1]).item(),
            "samples_counted": int(tally[2]), "dataset_len": len(dataset),
            "epochs": args.epochs, "seconds": seconds}), flush=True)
    dist.barrier()  # no rank tears its connections down while another still prints or talks
    dist.destroy_process_group()


def main():
    parser = argparse.ArgumentParser(description="PyTorch DDP as users write it (speed, epoch loss)")
    parser.add_argument("--experiment", default="digits-mlp", choices=sorted(EXPERIMENTS),
                        help="built-in experiment (default: digits-mlp)")
    parser.add_argument("--model", default=None, help="a TorchScript model instead (needs --data)")
    parser.add_argument("--data", default=None, help="data for --model: safetensors (inputs, targets)")
    parser.add_argument("--loss", default=None, choices=list(CRITERIA),
                        help="criterion (default: the experiment's; cross-entropy with --model)")
    parser.add_argument("--nproc", type=int, default=1, help="processes on 127.0.0.1 (default: 1)")
    parser.add_argument("--batch-size", type=int, default=64,
                        help="global batch; each rank takes batch-size // nproc (default: 64)")
    parser.add_argument("--epochs", type=int, default=5, help="timed epochs (default: 5)")
    parser.add_argument("--warmup-epochs", type=int, default=1, help="untimed epochs first (default: 1)")
    parser.add_argument("--lr", type=float, default=0.05, help="SGD learning rate (default: 0.05)")
    parser.add_argument("--seed", type=int, default=0, help="seed (default: 0)")
    args = parser.parse_args()
    if (args.model is None) != (args.data is None):
        parser.error("--model needs --data, and --data needs --model")
    if args.nproc < 1 or args.batch_size < args.nproc or args.epochs < 1 or args.warmup_epochs < 0:
        parser.error("needs --nproc >= 1, --batch-size >= --nproc, --epochs >= 1, --warmup-epochs >= 0")
    mp.spawn(worker, args=(args, free_port()), nprocs=args.nproc, join=True)


if __name__ == "__main__":
    main()
