#!/usr/bin/env bash
# Everything the open CUDA issues need measured, in one call on a borrowed GPU machine that has
# PyTorch 2.11 and no Rust: the machine, `tch-harness info`, scripts/gpu-check.sh's table (issues
# 19 and 20), scripts/bench.sh on each built-in model with and without mixed precision
# (issue 19's speed table, issue 20's item 7, the eager floor of issue 23), and the harness's
# overhead over the bare loop measured in one process at a time (issue 18, on the device). Each
# part writes its own file in OUT as it ends, so a part cut short by the machine's time limit
# loses only itself.
#
#   scripts/device_run.sh [--device cuda|cpu] [--parts check,bench,precision,overhead] [--quick]
#
# Build here and carry the three binaries (target/release/tch-harness,
# target/release/examples/bare_loop and target/release/examples/in_process_overhead, ≈3–9 MB
# each; or name them by $TCH_HARNESS_BIN, $BARE_LOOP_BIN, $IN_PROCESS_BIN) with the checkout; PYTHON names the machine's
# Python with torch (default: .venv/bin/python, else python3). --quick (1 run, 3 epochs, one
# check) is the dry run that tests/harness/scripts.rs makes with --device cpu. Budget on a GPU:
# check ≈ 3–4 min, bench ≈ 1.5 min a model, precision ≈ 1.5 min, overhead ≈ 1–2 min (not
# measured on a GPU yet): split the parts over two calls
# when one call is limited to 10 minutes.
set -uo pipefail
cd "$(dirname "$0")/.."
export TCH_HARNESS_HOME=$PWD
device=cuda parts=check,bench,precision,overhead quick=0
while [ $# -gt 0 ]; do
  case "$1" in
    --device) device=$2; shift 2 ;;
    --parts) parts=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    *) echo "usage: $0 [--device cuda|cpu] [--parts check,bench,precision,overhead] [--quick]" >&2; exit 2 ;;
  esac
done
out=${OUT:-device-out}
mkdir -p "$out"
if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then PYTHON=$PWD/.venv/bin/python; else PYTHON=python3; fi
fi
export PYTHON
torch_lib=$("$PYTHON" -c 'import os, torch; print(os.path.join(os.path.dirname(torch.__file__), "lib"))') \
  || { echo "error: $PYTHON has no torch" >&2; exit 1; }
export LD_LIBRARY_PATH="$torch_lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export BENCH_NO_BUILD=1
harness=${TCH_HARNESS_BIN:-target/release/tch-harness}
in_process=${IN_PROCESS_BIN:-target/release/examples/in_process_overhead}

if [ "$quick" = 1 ]; then
  runs=1 epochs=3 only=(--only digits-mlp) processes=2 rounds=1
else
  runs=3 epochs=20 only=() processes=5 rounds=10
fi
status=0
part() {  # name, command…: runs one part, its output in OUT/name.txt, its errors in OUT/name.log
  local name=$1; shift
  echo "device_run: $name" >&2
  local start=$SECONDS
  "$@" >"$out/$name.txt" 2>"$out/$name.log" || { status=1; echo "device_run: $name failed" >&2; }
  echo "$name: $((SECONDS - start)) s" >>"$out/times.txt"
}
{
  uname -a; nproc; "$PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version())'
  command -v nvidia-smi >/dev/null && nvidia-smi -L
} >"$out/machine.txt" 2>&1
"$harness" info >"$out/info.txt" 2>&1 || status=1

for p in ${parts//,/ }; do
  case "$p" in
    check) part gpu-check scripts/gpu-check.sh --device "$device" --epochs "$epochs" "${only[@]}" ;;
    bench)
      for e in digits-mlp digits-cnn cmudict-gru; do
        part "bench-$e" scripts/bench.sh --device "$device" --experiment "$e" --runs "$runs" --epochs "$epochs"
      done ;;
    precision)
      for precision in bf16-mixed 16-mixed; do
        part "bench-$precision" scripts/bench.sh --device "$device" --runs "$runs" --epochs "$epochs" \
          --options "--precision $precision"
      done ;;
    overhead)
      part overhead "$in_process" --processes "$processes" --rounds "$rounds" --epochs "$epochs" \
        --threads 1 --device "$device" ;;
    *) echo "error: unknown part '$p' (check, bench, precision, overhead)" >&2; exit 2 ;;
  esac
done
exit $status
