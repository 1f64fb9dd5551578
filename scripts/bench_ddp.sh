#!/usr/bin/env bash
# Data-parallel throughput, side by side in one run: the harness with 1 and 2 processes
# (`train --nproc`) and PyTorch's own DDP with 1 and 2 processes (scripts/ddp_bench.py:
# DistributedDataParallel + DistributedSampler + DataLoader, as users write it), on the same
# experiment and global batch, one libtorch thread per process, Gloo on 127.0.0.1.
#
#   scripts/bench_ddp.sh [--epochs 8] [--runs 3]
#
# Two experiments: digits-mlp at batch 64 (a step of ≈0.2 ms: the collectives' latency is all
# there is to see), and ConvNet (scripts/bench_models.py, TorchScript, the same network on both
# sides) on digits at batch 512, whose step takes ≈90 ms on one core: compute-bound, the case data
# parallelism is for. Samples/s is samples per epoch over the median training time of epochs
# 2..E (`train_seconds` for the harness; ddp_bench.py times its own epochs after a warm-up),
# median over runs; each run starts with the next program, in rotation.
set -euo pipefail
cd "$(dirname "$0")/.."

epochs=8 runs=3
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || { echo "usage: $0 [--epochs N] [--runs N]" >&2; exit 2; }
  case "$1" in
    --epochs) epochs=$2 ;;
    --runs) runs=$2 ;;
    *) echo "usage: $0 [--epochs N] [--runs N]" >&2; exit 2 ;;
  esac
  shift 2
done
python=${PYTHON:-.venv/bin/python}
harness=${TCH_HARNESS_BIN:-target/release/tch-harness}
if [ "${BENCH_NO_BUILD:-0}" != 1 ] && command -v cargo >/dev/null; then
  cargo build --release --quiet --bin tch-harness
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$python" scripts/bench_models.py "$tmp/convnet.pt" 2>/dev/null
load_before=$(cut -d" " -f1 /proc/loadavg)

# case: NAME, harness flags, ddp_bench.py flags
mlp_h=(--experiment digits-mlp --batch-size 64)
mlp_p=(--experiment digits-mlp --batch-size 64)
conv_h=(--model "$tmp/convnet.pt" --data data/digits.safetensors --loss cross-entropy --batch-size 512)
conv_p=(--model "$tmp/convnet.pt" --data data/digits.safetensors --batch-size 512)
harness_run() { # harness_run CASE NPROC RUN FLAGS...
  local case=$1 n=$2 r=$3; shift 3
  "$harness" train "$@" --epochs "$epochs" --threads 1 --device cpu --nproc "$n" \
    --out "$tmp/harness-$case-$n-$r" >/dev/null 2>&1
}
ddp_run() { # ddp_run CASE NPROC RUN FLAGS...
  local case=$1 n=$2 r=$3; shift 3
  "$python" scripts/ddp_bench.py "$@" --epochs "$epochs" --warmup-epochs 1 --nproc "$n" \
    2>/dev/null | tail -1 >"$tmp/ddp-$case-$n-$r.json"
}
for r in $(seq 1 "$runs"); do
  echo "bench_ddp: run $r/$runs" >&2
  jobs=()
  for n in 1 2; do
    jobs+=("harness_run mlp $n $r ${mlp_h[*]}" "ddp_run mlp $n $r ${mlp_p[*]}")
    jobs+=("harness_run conv $n $r ${conv_h[*]}" "ddp_run conv $n $r ${conv_p[*]}")
  done
  for i in "${!jobs[@]}"; do
    eval "${jobs[(i + r - 1) % ${#jobs[@]}]}"
  done
done

"$python" - "$tmp" "$runs" "$load_before" <<'PY'
import json, os, statistics, sys
tmp, runs, load_before = sys.argv[1], int(sys.argv[2]), sys.argv[3]

def harness(case, n, r):
    rec = [json.loads(l) for l in open(os.path.join(tmp, f"harness-{case}-{n}-{r}", "metrics.jsonl"))]
    return rec[0]["train_samples"] / statistics.median(x["train_seconds"] for x in rec[1:])

def ddp(case, n, r):
    with open(os.path.join(tmp, f"ddp-{case}-{n}-{r}.json")) as f:
        return json.loads(f.read())

med = lambda xs: statistics.median(xs)
print(f"| experiment (global batch) | harness 1 proc | harness 2 procs | DDP 1 proc | DDP 2 procs "
      f"| harness / DDP, 2 procs | harness 2 / 1 | DDP 2 / 1 |")
print("|---|---|---|---|---|---|---|---|")
for case, label in (("mlp", "digits-mlp (64)"), ("conv", "ConvNet on digits (512)")):
    h = {n: [harness(case, n, r) for r in range(1, runs + 1)] for n in (1, 2)}
    d = {n: [ddp(case, n, r)["samples_per_s"] for r in range(1, runs + 1)] for n in (1, 2)}
    print(f"| {label} | {med(h[1]):,.0f} | {med(h[2]):,.0f} | {med(d[1]):,.0f} | {med(d[2]):,.0f} "
          f"| {med(a / b for a, b in zip(h[2], d[2])):.2f}x | {med(a / b for a, b in zip(h[2], h[1])):.2f}x "
          f"| {med(a / b for a, b in zip(d[2], d[1])):.2f}x |")

def rank_ms(case, key):
    """Each rank's ms per step of the harness's 2-process runs (metrics.jsonl's rank_step_ms /
    rank_sync_ms, epochs 2..E): the median over epochs, then over runs."""
    per_run = []
    for r in range(1, runs + 1):
        rec = [json.loads(l) for l in open(os.path.join(tmp, f"harness-{case}-2-{r}", "metrics.jsonl"))]
        per_run.append([med(x[key][rank] for x in rec[1:]) for rank in range(2)])
    return [med(run[rank] for run in per_run) for rank in range(2)]

print("\nHarness, 2 processes, ms per step by rank (rank 0, rank 1): before the gradient all-reduce "
      "(forward, backward) | blocked in it (transfer, waiting for the other rank)")
for case, label in (("mlp", "digits-mlp (64)"), ("conv", "ConvNet on digits (512)")):
    step, sync = rank_ms(case, "rank_step_ms"), rank_ms(case, "rank_sync_ms")
    print(f"- {label}: {step[0]:.2f}, {step[1]:.2f} | {sync[0]:.2f}, {sync[1]:.2f}")
loss = ddp("mlp", 2, 1)
print(f"\nDDP's epoch loss as users compute it (mean of batch means, averaged over ranks), digits-mlp, "
      f"2 processes, last epoch: {loss.get('epoch_loss_as_users_compute')!r}; over every sample once: "
      f"{loss.get('epoch_loss_correct')!r}; samples DistributedSampler had the ranks visit: "
      f"{loss.get('samples_counted')} of {loss.get('dataset_len')}")
print(f"\nsamples/s: samples per epoch / median training time of epochs 2..E; median of {runs} runs; "
      f"one thread per process; load average before: {load_before}; {os.cpu_count()} cores")
PY
