#!/usr/bin/env bash
# The harness against PyTorch on a GPU, bit for bit: `tch-harness compare --device cuda --trace
# --tolerance 0` for every built-in experiment (with its configs/ file where it has one), a
# TorchScript model, --accumulate with a scheduler, both mixed precisions, Gloo with 2 processes
# and with 1 on the one GPU, NCCL, and `eval` of PyTorch's weights on CUDA. One table; exit
# status 1 when any check differs or fails.
#
#   scripts/gpu-check.sh [--device cuda|cpu] [--only NAME[,NAME…]] [--list] [--timeout SECS]
#                        [--epochs N]
#
# --device cpu is the dry mode: the same matrix on the CPU (NCCL is skipped, with its reason), so
# the script itself can be tested on a machine without a GPU. --only runs the named checks
# (--list shows them), --timeout limits each check (default 600 s), --epochs sets every check's
# epochs (default 3).
#
# For a machine with a GPU and no Rust toolchain: copy the binary with scripts/, data/ and
# configs/ (or point TCH_HARNESS_HOME at such a folder); libtorch comes from the torch of the
# Python used, which must be PyTorch 2.11 (the `safetensors` package is optional: a stand-in in
# scripts/pyshim is used when it is missing).
#
# Environment: TCH_HARNESS_HOME (the folder holding scripts/, data/, configs/; default: this
# script's checkout), TCH_HARNESS_BIN (default $TCH_HARNESS_HOME/target/release/tch-harness),
# PYTHON (default the home's .venv/bin/python, else python3 from PATH). On CUDA it exports
# CUBLAS_WORKSPACE_CONFIG=:4096:8 (cuBLAS's deterministic workspace, read when CUDA starts) and
# passes --deterministic when the binary has that flag. GPU_CHECK_EXTRA: more flags for every
# compare (word-split), e.g. --reference FILE to see a difference reported; GPU_CHECK_FORCE_SHIM=1
# uses the safetensors stand-in even where the package is installed (as on a bare GPU machine).
set -uo pipefail

home=${TCH_HARNESS_HOME:-$(cd "$(dirname "$0")/.." && pwd)}
export TCH_HARNESS_HOME=$home
say() { echo "gpu-check: $*" >&2; }
die() { echo "gpu-check: error: $*" >&2; exit "${2:-1}"; }

# name|what it runs (the compare flags are built in check_args)
CHECKS=(
  "digits-mlp|compare --experiment digits-mlp"
  "linear-regression|compare --experiment linear-regression"
  "breast-cancer|compare --experiment breast-cancer"
  "digits-cnn|compare --config configs/digits-cnn.toml (Adam, StepLR)"
  "cmudict-gru|compare --config configs/cmudict-gru.toml (AdamW, OneCycleLR, clipping)"
  "torchscript|compare --model (scripts/export_experiment.py's CNN) --loss cross-entropy"
  "accumulate-scheduler|compare digits-mlp --optimizer adam --accumulate 3 --scheduler StepLR"
  "bf16-mixed|compare digits-mlp --precision bf16-mixed"
  "16-mixed|compare digits-mlp --precision 16-mixed (GradScaler)"
  "gloo-2|compare digits-mlp --nproc 2 --backend gloo (both processes on one device)"
  "gloo-1|compare digits-mlp --nproc 1 --backend gloo (a group of one)"
  "nccl|compare digits-mlp --backend nccl (one process per GPU, at most 2)"
  "eval|eval of reference.py's digits-mlp weights vs PyTorch's own last eval"
)
names=()
for c in "${CHECKS[@]}"; do names+=("${c%%|*}"); done

device=cuda only="" timeout=600 epochs=3
usage() { die "usage: $0 [--device cuda|cpu] [--only NAME[,NAME…]] [--list] [--timeout SECS] [--epochs N]" 2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --list)
      for c in "${CHECKS[@]}"; do printf '%-22s %s\n' "${c%%|*}" "${c#*|}"; done
      exit 0 ;;
    --device|--only|--timeout|--epochs)
      [ $# -ge 2 ] || usage
      case "$1" in
        --device) device=$2 ;;
        --only) only="${only:+$only,}$2" ;;
        --timeout) timeout=$2 ;;
        --epochs) epochs=$2 ;;
      esac
      shift ;;
    *) usage ;;
  esac
  shift
done
case "$device" in cuda|cpu) ;; *) die "--device $device: expected cuda or cpu" 2 ;; esac
for n in "$timeout" "$epochs"; do
  [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "'$n' is not a positive integer" 2
done
selected=()
if [ -n "$only" ]; then
  IFS=, read -ra wanted <<<"$only"
  for w in "${wanted[@]}"; do
    [[ " ${names[*]} " == *" $w "* ]] || die "unknown check '$w' (--list shows them)" 2
  done
  for n in "${names[@]}"; do [[ ",$only," == *",$n,"* ]] && selected+=("$n"); done
else
  selected=("${names[@]}")
fi

cd "$home" || die "TCH_HARNESS_HOME=$home is not a folder"
for d in scripts data configs; do
  [ -d "$d" ] || die "$home has no $d/ (set TCH_HARNESS_HOME to a copy of the project's scripts/, data/, configs/)"
done
harness=${TCH_HARNESS_BIN:-$home/target/release/tch-harness}
if [ -z "${PYTHON:-}" ]; then
  if [ -x .venv/bin/python ]; then python=$home/.venv/bin/python; else python=python3; fi
else
  python=$PYTHON
fi
command -v "$python" >/dev/null || die "$python not found (set PYTHON)"
[ -x "$harness" ] || die "$harness not found (build it with cargo build --release, or set TCH_HARNESS_BIN)"
torch_info=$("$python" -c 'import os, torch; print(torch.__version__); print(os.path.dirname(torch.__file__)); print(torch.cuda.device_count())') \
  || die "$python cannot import torch"
torch_version=$(sed -n 1p <<<"$torch_info")
torch_dir=$(sed -n 2p <<<"$torch_info")
gpus=$(sed -n 3p <<<"$torch_info")
case "$torch_version" in
  2.11.*) ;;
  *) die "$python has torch $torch_version; this binary needs PyTorch 2.11" ;;
esac
export LD_LIBRARY_PATH="$torch_dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if [ "${GPU_CHECK_FORCE_SHIM:-0}" = 1 ] || ! "$python" -c 'import safetensors.torch' 2>/dev/null; then
  say "safetensors is not installed: scripts/reference.py uses the stand-in in scripts/pyshim"
  export PYTHONPATH="$home/scripts/pyshim${PYTHONPATH:+:$PYTHONPATH}"
fi
info=$("$harness" info) || die "$harness does not start with LD_LIBRARY_PATH=$torch_dir/lib"
if [ "$device" = cuda ]; then
  grep -q '^cuda_available: true' <<<"$info" \
    || die "the binary sees no CUDA device (torch in $python sees $gpus); --device cpu runs the dry mode"
  export CUBLAS_WORKSPACE_CONFIG=:4096:8
  gpu_name=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
fi
deterministic=() eval_deterministic=()
if [ "$device" = cuda ]; then
  "$harness" train --help | grep -q -- '--deterministic' && deterministic=(--deterministic)
  "$harness" eval --help | grep -q -- '--deterministic' && eval_deterministic=(--deterministic)
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
limit=(timeout --kill-after=10 "$timeout")
read -ra extra <<<"${GPU_CHECK_EXTRA:-}"  # more compare flags, e.g. to test this script
common=(--device "$device" --epochs "$epochs" --threads 1 --tolerance 0 --python "$python" "${deterministic[@]}"
  "${extra[@]}")
mlp=(--experiment digits-mlp)

# check_args NAME: the compare flags of a compare check (after `compare` and $common).
check_args() {
  case "$1" in
    digits-mlp|linear-regression|breast-cancer) echo --experiment "$1" --trace ;;
    digits-cnn|cmudict-gru) echo --config "configs/$1.toml" --trace ;;
  esac
}

run() { # run NAME COMMAND…: output into $tmp/NAME/log (stdout into $stdout_to if set), exit status
  local name=$1; shift
  "${limit[@]}" "$@" >>"${stdout_to:-$tmp/$name/log}" 2>>"$tmp/$name/log"
  local rc=$?
  echo "$rc" >"$tmp/$name/rc"
  return "$rc"
}

check() { # check NAME: runs one check into $tmp/NAME
  local name=$1 out=$tmp/$1
  mkdir -p "$out"
  case "$name" in
    digits-mlp|linear-regression|breast-cancer|digits-cnn|cmudict-gru)
      # shellcheck disable=SC2046 # check_args's words, none with spaces
      run "$name" "$harness" compare $(check_args "$name") "${common[@]}" --out "$out/cmp" ;;
    torchscript)
      "$python" scripts/export_experiment.py --out "$out/model" >"$out/log" 2>&1 \
        || { echo 1 >"$out/rc"; return; }
      run "$name" "$harness" compare --model "$out/model/model.pt" --data "$out/model/data.safetensors" \
        --loss cross-entropy --trace "${common[@]}" --out "$out/cmp" ;;
    accumulate-scheduler)
      run "$name" "$harness" compare "${mlp[@]}" --optimizer adam --accumulate 3 \
        --scheduler "StepLR(step_size=1, gamma=0.7)" --trace "${common[@]}" --out "$out/cmp" ;;
    bf16-mixed|16-mixed)
      run "$name" "$harness" compare "${mlp[@]}" --precision "$name" --trace "${common[@]}" --out "$out/cmp" ;;
    gloo-2|gloo-1)
      run "$name" "$harness" compare "${mlp[@]}" --nproc "${name#gloo-}" --backend gloo "${common[@]}" \
        --out "$out/cmp" ;;
    nccl)
      if [ "$device" != cuda ]; then
        echo "NCCL runs on CUDA only (dry mode on the cpu)" >"$out/skip"; return
      elif ! grep -q '^c10d_backends:.*nccl' <<<"$info"; then
        echo "this binary was built without NCCL" >"$out/skip"; return
      fi
      local n=$((gpus >= 2 ? 2 : 1))
      run "$name" "$harness" compare "${mlp[@]}" --nproc "$n" --backend nccl "${common[@]}" --out "$out/cmp" ;;
    eval)
      # PyTorch's trained weights, evaluated by the harness on the device: PyTorch's own last
      # eval loss and accuracy, to the bit.
      run "$name" "$python" scripts/reference.py "${mlp[@]}" --device "$device" --epochs "$epochs" \
        --threads 1 --out "$out/reference" || return
      stdout_to=$out/eval.json run "$name" "$harness" eval "${mlp[@]}" \
        --weights "$out/reference/model.safetensors" --device "$device" --threads 1 --json \
        "${eval_deterministic[@]}" || return
      run "$name" "$python" scripts/gpu_check_table.py eval "$out/eval.json" \
        "$out/reference/metrics.jsonl" "$out/cmp/compare.json" ;;
  esac
}

say "on $device${gpu_name:+ ($gpu_name)}: torch $torch_version from $python; ${#selected[@]} check(s), $epochs epoch(s) each${deterministic[*]:+, --deterministic}"
i=0
for name in "${selected[@]}"; do
  i=$((i + 1))
  say "[$i/${#selected[@]}] $name"
  start=$(date +%s.%N)
  check "$name"
  awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f\n", b - a }' >"$tmp/$name/seconds"
done
"$python" scripts/gpu_check_table.py table "$tmp" "$device" "${gpu_name:-}" "$torch_version" "$epochs" \
  "${selected[@]}"
