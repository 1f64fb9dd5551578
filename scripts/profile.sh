#!/usr/bin/env bash
# Instruction counts (valgrind's callgrind: exact and unaffected by other load on the machine) of
# the training part of an epoch: the harness's `train_epoch` (--loss-sync batch and epoch) against
# examples/bare_loop.rs's `train_one_epoch`, on the CPU with one thread.
#
#   scripts/profile.sh [EPOCHS]        (default 6; each program takes ~1-2 min under valgrind)
#
# Prints instructions per epoch and the harness's overhead in instructions. Wall time is what
# scripts/bench.sh measures; this says whether the harness executes more work than the bare loop.
# The callgrind files stay in $PROFILE_OUT (default target/profile) for callgrind_annotate.
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${1:-6}
out=${PROFILE_OUT:-target/profile}
command -v valgrind >/dev/null || { echo "error: valgrind is not installed" >&2; exit 1; }
if command -v cargo >/dev/null; then
  cargo build --release --quiet --bin tch-harness --example bare_loop
fi
mkdir -p "$out"
rm -rf "$out"/run-* "$out"/*.callgrind

collect() { # collect NAME FUNCTION-PATTERN COMMAND...
  local name=$1 pattern=$2; shift 2
  echo "profile: $name" >&2
  valgrind --tool=callgrind --callgrind-out-file="$out/$name.callgrind" --toggle-collect="$pattern" \
    "$@" >/dev/null 2>"$out/$name.log"
  sed -n 's/^summary: //p' "$out/$name.callgrind"
}
common=(--experiment digits-mlp --epochs "$epochs" --threads 1 --device cpu)
bare=$(collect bare '*::train_one_epoch' target/release/examples/bare_loop "${common[@]}")
batch=$(collect harness-batch '*::train_epoch' target/release/tch-harness train "${common[@]}" \
  --loss-sync batch --out "$out/run-batch")
epoch=$(collect harness-epoch '*::train_epoch' target/release/tch-harness train "${common[@]}" \
  --loss-sync epoch --out "$out/run-epoch")
awk -v e="$epochs" -v b="$bare" -v h="$batch" -v p="$epoch" 'BEGIN {
  printf "instructions per epoch (digits-mlp, 22 batches, %d epochs, epoch 1 included)\n", e
  printf "  bare tch loop               %14.0f\n", b / e
  printf "  harness, --loss-sync batch  %14.0f  overhead %+.3f%%  (%+.0f per batch)\n", h / e, (h / b - 1) * 100, (h - b) / e / 22
  printf "  harness, --loss-sync epoch  %14.0f  overhead %+.3f%%  (%+.0f per batch)\n", p / e, (p / b - 1) * 100, (p - b) / e / 22
}'
