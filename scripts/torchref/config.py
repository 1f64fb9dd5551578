"""The configuration: the harness's `config` object (a run's config.json, or a compare's
train-config.json), which this package trains from as the harness does — the harness's
`config/`. DEFAULTS is the one place the Python side keeps defaults: the standalone flags
(cli.py) start from it, and tests/harness/scripts.rs holds it equal to what `tch-harness train`
writes for a plain run."""
import copy
import json

from .backends import PYTORCH_DEFAULTS
from .optim import OPTIMIZERS, torch_defaults

# `tch-harness train`'s configuration when no flag is given. The optimizer's other keywords are
# torch.optim's own defaults (optim.torch_defaults), as on the harness's side.
DEFAULTS = {
    "experiment": "digits-mlp", "epochs": 10, "batch_size": 64,
    "optimizer": {"kind": "sgd", "lr": 0.05}, "param_groups": [],
    "seed": 0, "device": "auto", "threads": None, "shuffle": True,
    "init": None, "model": None, "data": None, "loss": None,
    "checkpoint_every": 1, "on_nonfinite": "stop", "loss_sync": "batch",
    "scheduler": None, "scheduler_interval": "epoch",
    "clip_grad_norm": None, "clip_norm_type": 2.0, "clip_grad_value": None,
    "accumulate": 1, "grad_scaler": None, "trace": False, "precision": "32",
    "ema": None, "ema_use_buffers": False, "swa": None,
    "ignore_index": None, "class_weights": None, "pos_weight": None, "label_smoothing": None,
    "metrics": [],
    "init_key": None, "save_format": "safetensors", "sync_batchnorm": True, "bucket_cap_mb": None,
    # torch.backends switches: PyTorch's own defaults (deterministic: on with --trace, cli.py).
    **PYTORCH_DEFAULTS,
}

# Every key of the harness's configuration, and `nproc` (reference.py's --nproc). Three change
# how the harness runs (its checkpoints, its NaN policy, when it reads the loss from the
# device), not what it computes: they are read and written back, nothing else. The callbacks and
# loggers (off unless given, so not in DEFAULTS): early_stopping.py.
CONFIG_KEYS = set(DEFAULTS) | {"nproc"} | {"early_stopping", "model_checkpoint", "logger", "log_every_n_steps"}


def defaults():
    """A fresh copy of DEFAULTS with the optimizer's keywords filled in."""
    cfg = copy.deepcopy(DEFAULTS)
    cfg["optimizer"] = optimizer_config(cfg["optimizer"]["kind"], cfg["optimizer"]["lr"])
    return cfg


def optimizer_config(kind, lr):
    """config.json's optimizer for `kind` named without keywords: torch.optim's defaults and `lr`."""
    return {"kind": kind, **torch_defaults(kind), "lr": lr}


def read_config(path):
    """The configuration in a JSON file: `{"config": {...}}` (a run's config.json) or the bare
    object. A key this package does not know is an error: it would otherwise be ignored here and
    the two sides would train differently."""
    with open(path) as f:
        value = json.load(f)
    config = value.get("config", value) if isinstance(value, dict) else None
    if not isinstance(config, dict):
        raise SystemExit(f"error: {path}: not a tch-harness configuration")
    unknown = sorted(set(config) - CONFIG_KEYS)
    if unknown:
        raise SystemExit(f"error: {path}: reference.py does not know the configuration key(s) "
                         f"{', '.join(unknown)}")
    # Files from before the torch.backends keys: PyTorch's defaults, deterministic with a trace.
    if config.get("deterministic") is None:
        config["deterministic"] = bool(config.get("trace"))
    for key, value in PYTORCH_DEFAULTS.items():
        config.setdefault(key, value)
    if config["optimizer"]["kind"] not in OPTIMIZERS:
        raise SystemExit(f"error: {path}: reference.py has no optimizer "
                         f"'{config['optimizer']['kind']}'")
    return config
