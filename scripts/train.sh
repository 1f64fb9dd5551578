#!/usr/bin/env bash
# Quick start: set up libtorch on first use, then train (default: digits-mlp). Flags pass through:
#   scripts/train.sh --experiment breast-cancer --epochs 20
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec cargo run --release -- "$@"
