#!/usr/bin/env bash
# The whole test suite: set up libtorch and PyTorch on first use, then build and run every test
# (Rust unit and integration tests; parity tests run the reference in .venv).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/python -m py_compile scripts/*.py
exec cargo test --release "$@"
