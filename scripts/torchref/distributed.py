"""The process group the loop runs in (`loop.py`): one process alone (a group of one, whose
collectives do nothing), or with `--nproc N` N processes on 127.0.0.1 (torch.distributed, gloo)
computing what one process computes, the arithmetic `tch-harness train --nproc N` runs.

- Every rank builds the model and data alike, then takes rank 0's parameters and buffers
  (broadcast, as DDP starts).
- Every rank walks the same global epoch order in the same global batches; rank r of N takes
  positions [r*m//N, (r+1)*m//N) of a batch of m samples (it may hold none of the short last one).
- A rank's loss is its shard's mean; it backpropagates that mean times c_r / window count (c_r: its
  shard's count), so the SUM of the ranks' gradients is the gradient of the global window's mean.
  At a window's end (every batch, or every `accumulate` batches) the gradients are summed in one
  flat all-reduce, then clipped and stepped as in one process: every rank steps alike.
- Epoch tallies are (sum, count, samples) summed across ranks in float64: the epoch loss is the
  one-process Σ(batch mean × count) / Σ count, every sample counted once.

The command's own process is rank 0 (it alone writes the run directory); it starts ranks 1..N-1
as `python reference.py --config TMP` with RANK_ENV set, and fails naming the rank that failed.
"""
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta

import torch
import torch.distributed as dist

RANK_ENV = "TCH_REFERENCE_RANK"  # "rank,world,port" in a worker rank started by rank 0
TIMEOUT = timedelta(seconds=60)  # a dead rank ends the job within this, never a hang


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_workers(script, cfg, world, port):
    """Ranks 1..world-1: this script again on a copy of the configuration, stdout silenced (rank 0
    speaks for the job), stderr kept for their errors."""
    fd, path = tempfile.mkstemp(prefix="reference-", suffix=".json")
    with os.fdopen(fd, "w") as f:
        json.dump(cfg, f)
    workers = []
    for rank in range(1, world):
        env = dict(os.environ, **{RANK_ENV: f"{rank},{world},{port}"})
        workers.append(subprocess.Popen([sys.executable, script, "--config", path], env=env,
                                        stdout=subprocess.DEVNULL))
    return workers, path


def failed_ranks(workers, wait_s):
    """(rank, exit code) of the workers that failed, after waiting up to wait_s for them to end."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline and any(w.poll() is None for w in workers):
        time.sleep(0.05)
    return [(r + 1, w.returncode) for r, w in enumerate(workers)
            if w.returncode is not None and w.returncode != 0]


def failure(failed):
    """One line naming the failed ranks: `rank 2 killed by signal 9, rank 1 failed (exit 1)`."""
    failed = sorted(failed, key=lambda rc: rc[1] >= 0)  # a killed rank first: the others followed it
    return "error: " + ", ".join(f"rank {r} killed by signal {-c}" if c < 0 else f"rank {r} failed (exit {c})"
                                 for r, c in failed)


def launch(cfg, train, script):
    """Runs train(group) as one rank of cfg["nproc"]: rank 0 when started by hand (it starts the
    others, running `script`), else the rank RANK_ENV names."""
    world = cfg["nproc"]
    if cfg.get("trace"):
        raise SystemExit("error: --trace records one process's steps; it cannot be used with --nproc > 1")
    joined = os.environ.pop(RANK_ENV, None)
    if "lo" in {name for _, name in socket.if_nameindex()}:
        os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")  # gloo would pick the hostname's address
    if joined is not None:
        rank, world, port = map(int, joined.split(","))
        workers, path = [], None
    else:
        rank, port = 0, free_port()
        workers, path = start_workers(script, cfg, world, port)
    try:
        dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                                world_size=world, timeout=TIMEOUT)
        train(Group(rank, world, cfg.get("bucket_cap_mb")))
        dist.barrier()  # no rank tears its connections down while rank 0 still writes
        # Rank 0 hosts the store: it tears down last, once the workers have left. A worker still
        # tearing down when rank 0's store went away could abort (SIGABRT, seen once in CI).
        failed_ranks(workers, TIMEOUT.total_seconds())
        dist.destroy_process_group()
    except BaseException as e:
        # A worker's failure reaches rank 0 as a gloo error: name the rank instead.
        own = isinstance(e, (SystemExit, KeyboardInterrupt))  # rank 0's own error: don't wait
        failed = failed_ranks(workers, 5.0) if workers and not own else []
        for w in workers:
            if w.poll() is None:
                w.kill()
        if failed:
            raise SystemExit(failure(failed)) from e
        raise
    finally:
        if path is not None:
            os.unlink(path)
    failed = failed_ranks(workers, TIMEOUT.total_seconds())
    if failed or any(w.returncode is None for w in workers):
        for w in workers:
            if w.poll() is None:
                w.kill()
        raise SystemExit(failure(failed) if failed else "error: a rank did not finish")


class Group:
    """This process's rank in the job, and the collectives the loop calls; in a group of one
    (`Group()`) each collective leaves its values as they are."""

    def __init__(self, rank=0, world=1, bucket_cap_mb=None):
        self.rank, self.world = rank, world
        self.bucket_cap_mb, self.buckets = bucket_cap_mb, None

    def who(self):
        """Who an error is about: "rank 2: " in a group of several, nothing alone."""
        return f"rank {self.rank}: " if self.world > 1 else ""

    def shard(self, m):
        """This rank's positions [lo, hi) of a batch of m samples (all of them alone)."""
        return self.rank * m // self.world, (self.rank + 1) * m // self.world

    def broadcast(self, tensors):
        """rank 0's values into every rank's tensors (a no-op numerically: all built alike)."""
        if self.world == 1:
            return
        with torch.no_grad():
            for t in tensors:
                dist.broadcast(t.data, 0)

    def sum(self, values):
        """values summed across ranks, in float64."""
        if self.world == 1:
            return values
        t = torch.tensor(values, dtype=torch.float64)
        dist.all_reduce(t)
        return t.tolist()

    def check_all(self, samples, n, what):
        """Fails unless the ranks' shards, together, were the n samples of the dataset."""
        if samples != n:
            raise SystemExit(f"error: {self.who()}the ranks {what} {samples:.0f} samples of {n}")

    def reduce_grads(self, params):
        """Each parameter's .grad summed across ranks, in the buckets DDP rebuilds them into
        (dist._compute_bucket_assignment_by_size over the parameters in reverse, the order backward
        makes them; limits as DDP's: [dist._DEFAULT_FIRST_BUCKET_BYTES, 25 MiB] when bucket_cap_mb
        is not given, else [bucket_cap_mb]), one all-reduce per
        bucket, zeros standing in for a rank's missing grads. A 1/0 flag per parameter rides in
        the last bucket, so a parameter no rank has a grad for keeps None, as in one process (the
        optimizer skips it: no weight decay, no momentum)."""
        if self.world == 1:
            return
        if self.buckets is None:
            limits = ([dist._DEFAULT_FIRST_BUCKET_BYTES, 25 * 1024 * 1024] if self.bucket_cap_mb is None
                      else [int(self.bucket_cap_mb * 1024 * 1024)])
            indices, _ = dist._compute_bucket_assignment_by_size(params[::-1], limits, [False] * len(params))
            self.buckets = [[len(params) - 1 - i for i in bucket] for bucket in indices]
        for b, bucket in enumerate(self.buckets):
            ps = [params[i] for i in bucket]
            parts = [p.grad.reshape(-1) if p.grad is not None else p.new_zeros(p.numel()) for p in ps]
            last = b == len(self.buckets) - 1
            if last:
                # Four more slots, where the harness's window tally rides (trained, skipped,
                # non-finite, stop): the same length keeps Gloo's ring chunks, hence each
                # element's sum order, the harness's — the same bits.
                parts += [torch.tensor([p.grad is not None for p in params], dtype=ps[0].dtype,
                                       device=ps[0].device), ps[0].new_zeros(4)]
            flat = torch.cat(parts)
            dist.all_reduce(flat)
            anyone = flat[-len(params) - 4:-4].tolist() if last else None
            at = 0
            for p in ps:
                p.grad = flat[at:at + p.numel()].view_as(p)
                at += p.numel()
        for p, had in zip(params, anyone):
            if not had:
                p.grad = None

    def check_same(self, params, epoch):
        """Fails unless every rank holds the same parameters: two float64 checksums (plain and
        position-weighted), their MAX and MIN across ranks in one all-reduce."""
        if self.world == 1:
            return
        flat = torch.cat([p.detach().reshape(-1).double().cpu() for p in params])
        sums = torch.stack([flat.sum(), (flat * torch.arange(1, flat.numel() + 1,
                                                              dtype=torch.float64)).sum()])
        both = torch.cat([sums, -sums])
        dist.all_reduce(both, op=dist.ReduceOp.MAX)
        if not torch.equal(both[:2], -both[2:]):
            raise SystemExit(f"error: rank {self.rank}: parameters differ across ranks after epoch "
                             f"{epoch} (checksums max {both[:2].tolist()}, min {(-both[2:]).tolist()})")
