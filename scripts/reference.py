"""The PyTorch reference for tch-harness: each built-in experiment, or your own TorchScript model
and data file, in plain PyTorch, written as the seed's loop, shaped like pytorch/examples'
mnist/main.py. Its run directory matches the Rust binary's, so `tch-harness compare` can run both
and diff their epoch losses. The code is the package scripts/torchref/ (docs/reference.md).

It trains from the configuration the harness trains from: `--config FILE` takes the JSON the
harness writes (a run's config.json, or the `train-config.json` of a compare). The standalone
flags, for running it by hand, build that same configuration (the binary's names and defaults):

    .venv/bin/python scripts/reference.py --config runs/digits-mlp-20261126-083456/config.json
    .venv/bin/python scripts/reference.py --experiment digits-mlp --epochs 10 --threads 1
    .venv/bin/python scripts/reference.py --model m.pt --data d.safetensors --loss cross-entropy
    .venv/bin/python scripts/reference.py --experiment digits-mlp --nproc 2

With --model the model is torch.jit.load(FILE) and the data comes from the safetensors file:
`inputs`, `targets` and optionally `eval_inputs`/`eval_targets`; the run is recorded as experiment
`torchscript`. With `--nproc N` N processes on 127.0.0.1 shard every batch; this one is rank 0
and alone writes the run directory.
"""
import os
import sys

# The package beside this file, also when run through runpy from elsewhere.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torchref.data import EpochShuffle, shuffle_seed  # noqa: E402,F401 (imported from here by users)
from torchref.main import main  # noqa: E402

if __name__ == "__main__":
    main(os.path.abspath(__file__))
