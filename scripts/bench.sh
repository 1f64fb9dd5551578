#!/usr/bin/env bash
# Training throughput of the harness, the PyTorch reference, a lean PyTorch loop and a bare tch
# loop, side by side on the same experiment, device and thread count.
#
#   scripts/bench.sh [--experiment digits-mlp] [--epochs 50] [--threads 1] [--device cpu] [--runs 5]
#                    [--options "--scheduler 'StepLR(step_size=1)' --clip-grad-norm 1.0"]
#
# --options: training flags given to the harness and to the reference alike (a scheduler,
# clipping, …); the lean and bare loops have none of them, so their rows are then only floors.
#
# Each run trains, one after another (run r starting with the r-th, in rotation): the harness
# (`tch-harness train`, with --loss-sync batch and epoch), scripts/reference.py,
# scripts/lean_loop.py (PyTorch eager as written for speed: data on the device, slices as
# batches, no DataLoader, no loss read-back) and examples/bare_loop.rs (the same in tch), once as
# it is and once with the seed loop's two reads per batch (`inputs.size()[0]`, `loss.item()`:
# the floor for --loss-sync batch, which does them). The lean and bare loops have the same
# model, data, batches and optimizer as the harness and no accounting, evaluation, progress or
# files. All use the default batch size (64), SGD lr 0.05
# and seed 0.
#
# What is timed ("training only"): the training part of each epoch — sample order, gather and
# every optimizer step, up to the epoch loss being known (`train_seconds` in the harness's and the
# reference's metrics.jsonl; the bare loop prints the same span). Evaluation is excluded for all
# three, and so is process start-up; epoch 1 (warm-up) is not timed. A run's samples/s is the
# samples per epoch over its median epoch time (the median, not the mean: on a shared machine a
# preempted epoch takes milliseconds longer). The table shows the median over runs; ratios are
# medians of per-run ratios (the programs of one run ran back to back). "all-in" is the same from
# the period between two epoch ends (`elapsed_seconds`): everything an epoch costs — evaluation,
# logging, progress — for the harness and the reference (the bare loop has no evaluation).
# The table is made by scripts/bench_table.py.
#
# Needs bash, the project's Python (.venv, or $PYTHON) and the two binaries (built here with
# cargo when cargo is on PATH, unless BENCH_NO_BUILD=1; or named by $TCH_HARNESS_BIN and
# $BARE_LOOP_BIN). It runs in $TCH_HARNESS_HOME (a folder with the project's scripts/ and data/)
# when that is set, else in this script's checkout.
set -euo pipefail
cd "${TCH_HARNESS_HOME:-$(dirname "$0")/..}"
[ -d scripts ] && [ -d data ] \
  || { echo "error: $PWD has no scripts/ and data/ (set TCH_HARNESS_HOME to the project's folder)" >&2; exit 1; }
export TCH_HARNESS_HOME=$PWD

experiment=digits-mlp epochs=50 threads=1 device=cpu runs=5 options=""
usage() { echo "usage: $0 [--experiment NAME] [--epochs N] [--threads N] [--device D] [--runs N] [--options FLAGS]" >&2; exit 2; }
while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || usage
  case "$1" in
    --experiment) experiment=$2 ;;
    --epochs) epochs=$2 ;;
    --threads) threads=$2 ;;
    --device) device=$2 ;;
    --runs) runs=$2 ;;
    --options) options=$2 ;;
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
if [ "${BENCH_NO_BUILD:-0}" != 1 ] && [ -f Cargo.toml ] && command -v cargo >/dev/null; then
  cargo build --release --quiet --bin tch-harness --example bare_loop
fi
for f in "$harness" "$bare" "$python"; do
  [ -x "$f" ] || { echo "error: $f not found (build with: cargo build --release --examples)" >&2; exit 1; }
done

if ! "$python" -c 'import safetensors.torch' 2>/dev/null; then  # e.g. a GPU machine's bare python3
  export PYTHONPATH="$PWD/scripts/pyshim${PYTHONPATH:+:$PYTHONPATH}"
fi
load_before=$(cut -d" " -f1 /proc/loadavg)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
common=(--experiment "$experiment" --epochs "$epochs" --threads "$threads" --device "$device")
eval "extra=($options)"  # the flags as the shell would split them (quotes kept)
harness_batch() { "$harness" train "${common[@]}" "${extra[@]}" --loss-sync batch --out "$tmp/harness-batch-$1" >/dev/null; }
harness_epoch() { "$harness" train "${common[@]}" "${extra[@]}" --loss-sync epoch --out "$tmp/harness-epoch-$1" >/dev/null; }
reference() { "$python" scripts/reference.py "${common[@]}" "${extra[@]}" --out "$tmp/reference-$1" >/dev/null; }
lean_loop() { mkdir -p "$tmp/lean-$1" && "$python" scripts/lean_loop.py "${common[@]}" >"$tmp/lean-$1/metrics.jsonl"; }
bare_loop() { mkdir -p "$tmp/bare-$1" && "$bare" "${common[@]}" >"$tmp/bare-$1/metrics.jsonl"; }
bare_reads() { mkdir -p "$tmp/bare-reads-$1" && "$bare" "${common[@]}" --read-loss true >"$tmp/bare-reads-$1/metrics.jsonl"; }
programs=(harness_batch harness_epoch reference lean_loop bare_loop bare_reads)
for run in $(seq 1 "$runs"); do
  echo "bench: run $run/$runs" >&2
  # Each run starts with the next program: whatever running first or after Python does to the
  # machine (caches, clocks) falls on each program in turn instead of always on the same one.
  for i in "${!programs[@]}"; do
    "${programs[(i + run - 1) % ${#programs[@]}]}" "$run"
  done
done

"$python" scripts/bench_table.py "$tmp" "$runs" "$experiment" "$epochs" "$threads" "$device" "$load_before"
