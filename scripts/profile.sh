#!/usr/bin/env bash
# Instruction counts (valgrind's callgrind: exact and unaffected by other load on the machine) of
# the training part of an epoch: the harness's `train_epoch` (--loss-sync batch and epoch) against
# examples/bare_loop.rs's `train_one_epoch`, plain and with the seed's reads, on the CPU with one
# thread.
#
#   scripts/profile.sh [EPOCHS] [--simulate]   (default 6 epochs; each program takes ~1-2 min
#                                               under valgrind, ~3x that with --simulate)
#
# Prints instructions per epoch and the harness's overhead in instructions. Wall time is what
# scripts/bench.sh measures; this says whether the harness executes more work than the bare loop.
# --simulate adds callgrind's cache and branch-predictor simulation: first-level instruction and
# data misses, last-level misses, mispredicted conditional and indirect branches, per epoch. A
# model of a CPU, not this one's counters, but the same model for every program: where equal
# instruction counts run at unequal speed, it says which of these differs.
# The callgrind files stay in $PROFILE_OUT (default target/profile) for callgrind_annotate.
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=6
simulate=()
for arg in "$@"; do
  case $arg in
    --simulate) simulate=(--cache-sim=yes --branch-sim=yes) ;;
    *[!0-9]* | '' | 0) echo "error: expected EPOCHS (a count of 1 or more) or --simulate, got '$arg'" >&2; exit 2 ;;
    *) epochs=$arg ;;
  esac
done
out=${PROFILE_OUT:-target/profile}
command -v valgrind >/dev/null || { echo "error: valgrind is not installed" >&2; exit 1; }
if command -v cargo >/dev/null; then
  cargo build --release --quiet --bin tch-harness --example bare_loop
fi
mkdir -p "$out"
rm -rf "$out"/run-* "$out"/*.callgrind

collect() { # collect NAME FUNCTION-PATTERN COMMAND...: the file's event names and totals, one line
  local name=$1 pattern=$2; shift 2
  echo "profile: $name" >&2
  valgrind --tool=callgrind "${simulate[@]}" --callgrind-out-file="$out/$name.callgrind" \
    --toggle-collect="$pattern" "$@" >/dev/null 2>"$out/$name.log"
  echo "$(sed -n 's/^events: //p' "$out/$name.callgrind") | $(sed -n 's/^summary: //p' "$out/$name.callgrind")"
}
common=(--experiment digits-mlp --epochs "$epochs" --threads 1 --device cpu)
bare=$(collect bare '*::train_one_epoch' target/release/examples/bare_loop "${common[@]}")
reads=$(collect bare-reads '*::train_one_epoch' target/release/examples/bare_loop "${common[@]}" \
  --read-loss true)
batch=$(collect harness-batch '*::train_epoch' target/release/tch-harness train "${common[@]}" \
  --loss-sync batch --out "$out/run-batch")
epoch=$(collect harness-epoch '*::train_epoch' target/release/tch-harness train "${common[@]}" \
  --loss-sync epoch --out "$out/run-epoch")
printf '%s\n' "$bare" "$reads" "$batch" "$epoch" | awk -v e="$epochs" '
  BEGIN {
    label[1] = "bare tch loop"; label[2] = "bare tch loop, seed'"'"'s reads"
    label[3] = "harness, --loss-sync batch"; label[4] = "harness, --loss-sync epoch"
    floor[3] = 2; floor[4] = 1 # each harness mode against the bare loop that does its reads
    name["Ir"] = "instructions"; name["I1mr"] = "L1 instruction misses"
    name["D1mr"] = "L1 data read misses"; name["D1mw"] = "L1 data write misses"
    name["ILmr"] = "last-level instruction misses"; name["DLmr"] = "last-level data read misses"
    name["DLmw"] = "last-level data write misses"; name["Bcm"] = "mispredicted conditional branches"
    name["Bim"] = "mispredicted indirect branches"
  }
  {
    split($0, halves, " [|] "); n = split(halves[1], events, " "); split(halves[2], totals, " ")
    for (i = 1; i <= n; i++) count[NR, events[i]] = totals[i]
  }
  END {
    printf "per epoch (digits-mlp, 22 batches, %d epochs, epoch 1 included); overhead over the bare loop\n", e
    printf "that makes the same reads (batch: the seed'"'"'s reads; epoch: none)\n"
    for (i = 1; i <= n; i++) {
      ev = events[i]
      if (!(ev in name)) continue
      printf "%s\n", name[ev]
      for (p = 1; p <= 4; p++) {
        line = sprintf("  %-30s %14.0f", label[p], count[p, ev] / e)
        if (p in floor && count[floor[p], ev] > 0) {
          f = count[floor[p], ev]
          line = line sprintf("  %+.3f%%  (%+.0f per batch)", (count[p, ev] / f - 1) * 100, (count[p, ev] - f) / e / 22)
        }
        print line
      }
    }
  }'
