#!/usr/bin/env bash
# Training throughput of the harness, the PyTorch reference and a bare tch loop, side by side on
# the same experiment, device and thread count.
#
#   scripts/bench.sh [--experiment digits-mlp] [--epochs 50] [--threads 1] [--device cpu] [--runs 5]
#
# Each run trains, in turn: the harness (`tch-harness train`, with --loss-sync batch and epoch),
# scripts/reference.py, and examples/bare_loop.rs (the same model, data, batches and optimizer
# with no loss read-back, accounting, evaluation, progress or files). All use the default batch
# size (64), SGD lr 0.05 and seed 0.
#
# What is timed: the training part of each epoch only — sample order, gather and every optimizer
# step, up to the epoch loss being known (the harness's and the reference's `train_seconds` in
# metrics.jsonl; the bare loop prints the same span). Evaluation is excluded for all three;
# process start-up is excluded; epoch 1 (warm-up) is excluded when there is more than one epoch.
# A run's samples/s is its timed samples over its timed seconds. The table shows the median over
# runs; ratios are medians of per-run ratios (the programs of one run ran back to back).
#
# Needs bash, the project's Python (.venv, or $PYTHON) and the two binaries (built here with
# cargo when cargo is on PATH, unless BENCH_NO_BUILD=1; or named by $TCH_HARNESS_BIN and
# $BARE_LOOP_BIN).
set -euo pipefail
cd "$(dirname "$0")/.."

experiment=digits-mlp epochs=50 threads=1 device=cpu runs=5
usage() { echo "usage: $0 [--experiment NAME] [--epochs N] [--threads N] [--device D] [--runs N]" >&2; exit 2; }
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || usage
  case "$1" in
    --experiment) experiment=$2 ;;
    --epochs) epochs=$2 ;;
    --threads) threads=$2 ;;
    --device) device=$2 ;;
    --runs) runs=$2 ;;
    *) usage ;;
  esac
  shift 2
done
for n in "$epochs" "$threads" "$runs"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "error: '$n' is not a positive integer" >&2; exit 2; }
done

python=${PYTHON:-.venv/bin/python}
harness=${TCH_HARNESS_BIN:-target/release/tch-harness}
bare=${BARE_LOOP_BIN:-target/release/examples/bare_loop}
if [ "${BENCH_NO_BUILD:-0}" != 1 ] && command -v cargo >/dev/null; then
  cargo build --release --quiet --bin tch-harness --example bare_loop
fi
for f in "$harness" "$bare" "$python"; do
  [ -x "$f" ] || { echo "error: $f not found (build with: cargo build --release --examples)" >&2; exit 1; }
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
common=(--experiment "$experiment" --epochs "$epochs" --threads "$threads" --device "$device")
for run in $(seq 1 "$runs"); do
  echo "bench: run $run/$runs" >&2
  for sync in batch epoch; do
    "$harness" train "${common[@]}" --loss-sync "$sync" --out "$tmp/harness-$sync-$run" >/dev/null
  done
  "$python" scripts/reference.py "${common[@]}" --out "$tmp/reference-$run" >/dev/null
  mkdir -p "$tmp/bare-$run"
  "$bare" "${common[@]}" >"$tmp/bare-$run/metrics.jsonl"
done

"$python" - "$tmp" "$runs" "$experiment" "$epochs" "$threads" "$device" <<'EOF'
import json, os, platform, statistics, sys

tmp, runs, experiment, epochs, threads, device = sys.argv[1], int(sys.argv[2]), *sys.argv[3:]
kinds = [("harness-batch", "harness, --loss-sync batch"), ("harness-epoch", "harness, --loss-sync epoch"),
         ("reference", "reference.py (PyTorch eager)"), ("bare", "bare tch loop")]

def throughput(path):
    records = [json.loads(line) for line in open(os.path.join(path, "metrics.jsonl"))]
    timed = records[1:] if len(records) > 1 else records
    return sum(r["train_samples"] for r in timed) / sum(r["train_seconds"] for r in timed)

sps = {k: [throughput(os.path.join(tmp, f"{k}-{i}")) for i in range(1, runs + 1)] for k, _ in kinds}
med = {k: statistics.median(v) for k, v in sps.items()}
ratio = lambda a, b: statistics.median(x / y for x, y in zip(sps[a], sps[b]))

cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
timed = f"epochs 2-{epochs}" if int(epochs) > 1 else "epoch 1"
print(f"machine: {platform.machine()}, {os.cpu_count()} cores ({cpu}); device {device}, {threads} thread(s)")
print(f"{experiment}: {timed} timed, training only (evaluation excluded), {runs} runs, medians")
print(f"{'':30} {'samples/s':>11} {'min':>11} {'max':>11}")
for k, label in kinds:
    print(f"{label:30} {med[k]:11.0f} {min(sps[k]):11.0f} {max(sps[k]):11.0f}")
print(f"harness / reference            {ratio('harness-batch', 'reference'):.2f}x (batch)   "
      f"{ratio('harness-epoch', 'reference'):.2f}x (epoch)")
print(f"harness overhead vs bare loop  {(ratio('bare', 'harness-batch') - 1) * 100:+.1f}% (batch)   "
      f"{(ratio('bare', 'harness-epoch') - 1) * 100:+.1f}% (epoch)")
EOF
