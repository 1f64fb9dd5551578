#!/usr/bin/env bash
# Checks a tch-harness binary on an x86-64 machine with an NVIDIA GPU and PyTorch 2.11 in its
# python3, and no Rust toolchain: copy the repository tree with target/release/tch-harness built
# (the binary is ≈1 MB; libtorch comes from that machine's torch), then run
#
#   scripts/gpu-check.sh
#
# It (1) points the loader at python3's torch/lib and checks that the binary sees CUDA
# (`tch-harness info`), (2) trains digits-mlp on CUDA with --loss-sync batch and epoch, on the CPU,
# and runs scripts/reference.py on CUDA, and digits-cnn and cmudict-gru on CUDA on both sides, (3) compares the per-epoch losses (max relative
# differences), (4) times --loss-sync batch vs epoch vs the reference on CUDA (training part of each
# epoch, `train_seconds`: median over epochs 2..E, then over runs) and prints one table, (5) the
# distributed part: digits-mlp with 2 processes over Gloo on one GPU against one process on it, and
# over NCCL with one process per GPU there is (a group of one on a single-GPU machine, through the
# torchrun variables). Exit status 0 when every comparison is within tolerance. Takes about a
# minute; well under 5.
#
# Needs only bash, python3 with torch (the `safetensors` package is optional: a stand-in in
# scripts/pyshim is used when it is missing) and the binary.
#
# Environment: PYTHON (default python3), TCH_HARNESS_BIN (default target/release/tch-harness),
# GPU_CHECK_EPOCHS (20), GPU_CHECK_RUNS (3 timing runs), GPU_CHECK_THREADS (1),
# GPU_CHECK_ALLOW_CPU=1 (dry mode: with no GPU, run the same steps with the device set to cpu, to
# test this script), GPU_CHECK_FORCE_SHIM=1 (use the safetensors stand-in even when installed).
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
harness=${TCH_HARNESS_BIN:-target/release/tch-harness}
epochs=${GPU_CHECK_EPOCHS:-20}
runs=${GPU_CHECK_RUNS:-3}
threads=${GPU_CHECK_THREADS:-1}
say() { echo "gpu-check: $*" >&2; }
die() { echo "gpu-check: error: $*" >&2; exit 1; }

command -v "$python" >/dev/null || die "$python not found (set PYTHON)"
[ -x "$harness" ] || die "$harness not found (build it with cargo build --release and copy it here)"
torch_info=$("$python" -c 'import os, torch; print(torch.__version__); print(os.path.dirname(torch.__file__)); print(torch.cuda.is_available())') \
  || die "$python cannot import torch"
torch_version=$(sed -n 1p <<<"$torch_info")
torch_dir=$(sed -n 2p <<<"$torch_info")
python_cuda=$(sed -n 3p <<<"$torch_info")
case "$torch_version" in
  2.11.*) ;;
  *) die "$python has torch $torch_version; this binary needs PyTorch 2.11" ;;
esac
export LD_LIBRARY_PATH="$torch_dir/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
say "libtorch from $python: torch $torch_version at $torch_dir (CUDA visible to torch: $python_cuda)"
if [ "${GPU_CHECK_FORCE_SHIM:-0}" = 1 ] || ! "$python" -c 'import safetensors.torch' 2>/dev/null; then
  say "safetensors is not installed: scripts/reference.py uses the stand-in in scripts/pyshim"
  export PYTHONPATH="$PWD/scripts/pyshim${PYTHONPATH:+:$PYTHONPATH}"
fi

info=$("$harness" info) || die "$harness does not start with LD_LIBRARY_PATH=$torch_dir/lib"
echo "$info"
command -v nvidia-smi >/dev/null && nvidia-smi -L || true
binary_cuda=$(sed -n 's/^cuda_available: //p' <<<"$info")
if [ "$binary_cuda" = true ]; then
  device=cuda
elif [ "${GPU_CHECK_ALLOW_CPU:-0}" = 1 ]; then
  device=cpu
  say "dry mode (GPU_CHECK_ALLOW_CPU=1): no CUDA here, every 'cuda' step runs on the cpu"
elif [ "$python_cuda" = True ]; then
  die "torch in $python sees CUDA but the binary does not: was it linked with build.rs's --no-as-needed -ltorch_cuda?"
else
  die "no CUDA device visible (torch in $python agrees); set GPU_CHECK_ALLOW_CPU=1 for a dry run"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
common=(--experiment digits-mlp --epochs "$epochs" --threads "$threads")
limit=()
command -v timeout >/dev/null && limit=(timeout 240)
run() { # run NAME COMMAND...: quiet unless it fails
  say "$1"
  local name=$1; shift
  "${limit[@]}" "$@" >"$tmp/$name.log" 2>&1 || { cat "$tmp/$name.log" >&2; die "$name failed"; }
}
run cpu "$harness" train "${common[@]}" --device cpu --out "$tmp/cpu"
for i in $(seq 1 "$runs"); do
  for sync in batch epoch; do
    run "$device-$sync-$i" "$harness" train "${common[@]}" --device "$device" --loss-sync "$sync" \
      --out "$tmp/$device-$sync-$i"
  done
  run "reference-$i" "$python" scripts/reference.py "${common[@]}" --device "$device" --out "$tmp/reference-$i"
done
# The porting kit's layers on the device (cuDNN convolutions, batch norm, GRU): 3 epochs each.
for exp in digits-cnn cmudict-gru; do
  layers=(--config "configs/$exp.toml" --epochs 3)
  run "$exp-$device" "$harness" train "${layers[@]}" --device "$device" --out "$tmp/$exp-$device"
  run "$exp-reference" "$python" scripts/reference.py --config "$tmp/$exp-$device/config.json" \
    --out "$tmp/$exp-reference"
done

# Data-parallel on the device: Gloo (host copies of CUDA tensors), then NCCL.
dist=(--experiment digits-mlp --epochs "$epochs" --threads "$threads" --device "$device")
run "$device-1proc" "$harness" train "${dist[@]}" --out "$tmp/$device-1proc"
run "$device-gloo-2" "$harness" train "${dist[@]}" --nproc 2 --backend gloo --out "$tmp/$device-gloo-2"
gpus=$("$python" -c 'import torch; print(torch.cuda.device_count())')
nccl_runs=none
if [ "$device" = cuda ] && grep -q nccl <<<"$info"; then
  if [ "$gpus" -ge 2 ]; then
    nccl_runs="$device-nccl-$gpus"
    run "$nccl_runs" "$harness" train "${dist[@]}" --nproc "$gpus" --backend nccl --out "$tmp/$nccl_runs"
  else
    nccl_runs="$device-nccl-1"
    run "$nccl_runs" env RANK=0 WORLD_SIZE=1 LOCAL_RANK=0 MASTER_ADDR=127.0.0.1 MASTER_PORT=29517 \
      "$harness" train "${dist[@]}" --backend nccl --out "$tmp/$nccl_runs"
  fi
else
  say "no NCCL run: this binary has no NCCL backend, or there is no GPU"
fi

"$python" - "$tmp" "$device" "$runs" "$epochs" "$nccl_runs" <<'EOF'
import json, os, statistics, sys

tmp, device, runs, epochs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
load = lambda name: [json.loads(l) for l in open(os.path.join(tmp, name, "metrics.jsonl"))]
dev = lambda sync, i=1: f"{device}-{sync}-{i}"

def max_rel(a, b, key):
    return max(abs(x[key] - y[key]) / max(abs(y[key]), 1e-300) for x, y in zip(load(a), load(b)))

failed = []
print(f"\nper-epoch losses, max relative difference over {epochs} epochs (digits-mlp)")
checks = [  # (what, a, b, tolerance)
    (f"{device} --loss-sync epoch vs batch", dev("epoch"), dev("batch"), 1e-6),
    (f"{device} harness vs reference.py --device {device}", dev("batch"), "reference-1", 1e-4),
    (f"{device} harness vs cpu harness", dev("batch"), "cpu", 1e-3),
    (f"digits-cnn {device} harness vs reference.py", f"digits-cnn-{device}", "digits-cnn-reference", 1e-4),
    (f"cmudict-gru {device} harness vs reference.py", f"cmudict-gru-{device}", "cmudict-gru-reference", 1e-4),
    (f"{device} --nproc 2 gloo vs 1 process", f"{device}-gloo-2", f"{device}-1proc", 1e-4),
]
if sys.argv[5] != "none":
    checks.append((f"{device} nccl ({sys.argv[5]}) vs 1 process", sys.argv[5], f"{device}-1proc", 1e-4))
for what, a, b, tol in checks:
    for key in ("train_loss", "eval_loss"):
        d = max_rel(a, b, key)
        ok = d <= tol
        failed += [] if ok else [f"{what} {key}"]
        print(f"  {what + ' ' + key:60} {d:10.3g}  (tolerance {tol:g}) {'ok' if ok else 'FAIL'}")
for name in [dev("batch"), dev("epoch"), "cpu", "reference-1"]:
    records = load(name)
    samples = {r["train_samples"] for r in records}
    if len(records) != epochs or len(samples) != 1:
        failed.append(f"{name}: {len(records)} epochs, train_samples {sorted(samples)}")

def sps(name):  # samples per epoch / median training time of epochs 2..E
    r = load(name)
    return r[0]["train_samples"] / statistics.median(x["train_seconds"] for x in (r[1:] or r))

rows = [("harness --loss-sync batch", "batch"), ("harness --loss-sync epoch", "epoch"), ("reference.py", None)]
speed = {}
for label, sync in rows:
    names = [dev(sync, i) if sync else f"reference-{i}" for i in range(1, runs + 1)]
    speed[label] = [sps(n) for n in names]
print(f"\ntraining throughput on {device} (samples per epoch / median epoch time over epochs 2-{epochs}, "
      f"training only; median of {runs} runs)")
ref = statistics.median(speed["reference.py"])
for label, _ in rows:
    m = statistics.median(speed[label])
    print(f"  {label:28} {m:12.0f} samples/s  {m / ref:5.2f}x reference")
b, e = (statistics.median(speed[f"harness --loss-sync {s}"]) for s in ("batch", "epoch"))
print(f"  epoch vs batch: {e / b:.2f}x")
if failed:
    print("\nFAILED: " + "; ".join(failed))
    sys.exit(1)
print(f"\ngpu-check: all comparisons within tolerance on {device}")
EOF
