"""The table of scripts/bench.sh, from the run folders it leaves in TMP:
<kind>-<run>/metrics.jsonl for kind in harness-batch, harness-epoch, reference, lean, bare,
bare-reads.

    python scripts/bench_table.py TMP RUNS EXPERIMENT EPOCHS THREADS DEVICE LOAD_BEFORE
"""
import json
import os
import platform
import statistics
import sys

KINDS = [("harness-batch", "harness, --loss-sync batch"), ("harness-epoch", "harness, --loss-sync epoch"),
         ("reference", "reference.py (PyTorch eager)"), ("lean", "lean PyTorch eager loop"),
         ("bare", "bare tch loop"), ("bare-reads", "bare tch loop, seed's reads")]


def records(tmp, kind, run):
    with open(os.path.join(tmp, f"{kind}-{run}", "metrics.jsonl")) as f:
        return [json.loads(line) for line in f]


def train_sps(r):
    """Samples per epoch over the median training time of epochs 2..E."""
    return r[0]["train_samples"] / statistics.median(x["train_seconds"] for x in (r[1:] or r))


def all_in_sps(r):
    """Samples per epoch over the median period between two epoch ends (epochs 2..E)."""
    if len(r) < 2 or "elapsed_seconds" not in r[0]:
        return None
    return r[0]["train_samples"] / statistics.median(b["elapsed_seconds"] - a["elapsed_seconds"]
                                                     for a, b in zip(r, r[1:]))


def main():
    tmp, runs, experiment, epochs, threads, device, load_before = sys.argv[1:8]
    runs = int(runs)
    data = {k: [records(tmp, k, i) for i in range(1, runs + 1)] for k, _ in KINDS}

    def per_run(f, kind):
        return [f(r) for r in data[kind]]

    def ratio(f, a, b):  # median over runs of the per-run ratio (a run's programs ran back to back)
        return statistics.median(x / y for x, y in zip(per_run(f, a), per_run(f, b)))

    with open("/proc/cpuinfo") as f:
        cpu = next((l.split(":", 1)[1].strip() for l in f if l.startswith("model name")), "?")
    with open("/proc/loadavg") as f:
        load_after = f.read().split()[0]
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores ({cpu}), load average {load_before} before, "
          f"{load_after} after; device {device}, {threads} thread(s)")
    print(f"{experiment}, {epochs} epochs (epoch 1 not timed), {runs} runs; samples/s = samples per epoch / "
          f"median epoch time; median over runs")
    print(f"{'':30} {'training only':>14} {'min..max over runs':>20} {'all-in':>9}")
    for kind, label in KINDS:
        v = per_run(train_sps, kind)
        a = per_run(all_in_sps, kind)
        a = "-" if None in a else f"{statistics.median(a):.0f}"
        print(f"{label:30} {statistics.median(v):14.0f} {f'{min(v):.0f}..{max(v):.0f}':>20} {a:>9}")
    for sync in ("batch", "epoch"):
        h = f"harness-{sync}"
        print(f"--loss-sync {sync}: harness / reference {ratio(train_sps, h, 'reference'):.2f}x "
              f"(all-in {ratio(all_in_sps, h, 'reference'):.2f}x); "
              f"/ lean PyTorch loop {ratio(train_sps, h, 'lean'):.2f}x; "
              f"harness overhead over the bare loop {(ratio(train_sps, 'bare', h) - 1) * 100:+.1f}%"
              + (f" (with the seed's reads {(ratio(train_sps, 'bare-reads', h) - 1) * 100:+.1f}%)"
                 if sync == "batch" else ""))
    print("training only: sample order, batches, steps, epoch loss (evaluation excluded for all).\n"
          "all-in: the period between epoch ends (evaluation, logging, progress; start-up excluded).\n"
          "overhead: bare samples/s / harness samples/s - 1; the seed's reads: inputs.size()[0] and\n"
          "loss.item() per batch, which --loss-sync batch does and the plain bare loop leaves out.")


if __name__ == "__main__":
    main()
