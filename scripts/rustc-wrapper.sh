#!/usr/bin/env bash
# Cargo runs every rustc call through this (see .cargo/config.toml). Its only job: fail fast, with a
# message that says what to do, when libtorch has not been set up; torch-sys would otherwise fail
# deep inside a C++ compile.
if [ ! -e "${LIBTORCH:-.libtorch}/lib/libtorch_cpu.so" ]; then
  echo "error: libtorch not found at ${LIBTORCH:-.libtorch}: run scripts/setup.sh first (it installs PyTorch 2.11.0 into .venv)" >&2
  exit 1
fi
exec "$@"
