"""The process-wide switches PyTorch users set before training, from the configuration:
`torch.backends.cudnn`'s deterministic, benchmark and allow_tf32, `torch.use_deterministic_algorithms`
and `torch.set_float32_matmul_precision` — the harness's `backends.rs`. `state()` reads them back
for config.json's `backends`, with the same keys as the harness's."""
import os

import torch

CUBLAS_WORKSPACE_CONFIG = "CUBLAS_WORKSPACE_CONFIG"

# PyTorch's own defaults, read from PyTorch before anything sets them.
PYTORCH_DEFAULTS = {
    "deterministic": torch.are_deterministic_algorithms_enabled(),
    "cudnn_benchmark": torch.backends.cudnn.benchmark,
    "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
    "float32_matmul_precision": torch.get_float32_matmul_precision(),
}


def apply(cfg):
    """Sets the configuration's switches; before any CUDA work (cuBLAS reads its workspace
    variable when CUDA starts; a value already in the environment is kept)."""
    deterministic = cfg["deterministic"]
    if deterministic and cfg["cudnn_benchmark"]:
        raise SystemExit("error: --cudnn-benchmark picks cuDNN kernels by timing them, which "
                         "--deterministic rules out: turn one off")
    if deterministic:
        os.environ.setdefault(CUBLAS_WORKSPACE_CONFIG, ":4096:8")
    torch.backends.cudnn.deterministic = deterministic
    torch.use_deterministic_algorithms(deterministic, warn_only=False)
    torch.backends.cudnn.benchmark = cfg["cudnn_benchmark"]
    torch.backends.cudnn.allow_tf32 = cfg["cudnn_allow_tf32"]
    torch.set_float32_matmul_precision(cfg["float32_matmul_precision"])


def state():
    """The switches as PyTorch reads them back now (config.json's `backends`)."""
    return {
        "deterministic_algorithms": torch.are_deterministic_algorithms_enabled(),
        "deterministic_warn_only": torch.is_deterministic_algorithms_warn_only_enabled(),
        "cudnn_deterministic": torch.backends.cudnn.deterministic,
        "cudnn_benchmark": torch.backends.cudnn.benchmark,
        "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32,
        "float32_matmul_precision": torch.get_float32_matmul_precision(),
        "cublas_workspace_config": os.environ.get(CUBLAS_WORKSPACE_CONFIG),
    }
