"""Turn your own PyTorch model and tensors into files tch-harness trains: a TorchScript module
(`model.pt`) and a safetensors data file (`data.safetensors`).

    from export_experiment import export
    export(model, inputs, targets, eval_inputs, eval_targets, out_dir="my-experiment")

then

    tch-harness train --model my-experiment/model.pt --data my-experiment/data.safetensors \\
        --loss cross-entropy --epochs 10 --batch-size 64 --lr 0.05

Run this file for a worked example (a small CNN on synthetic 8x8 images, 3 classes):

    .venv/bin/python scripts/export_experiment.py --out runs/own-example

The data file holds `inputs` (float, any shape `[N, ...]`, or int64 token ids for a model that
starts with `nn.Embedding`) and `targets` (`[N, ...]`: float for mse/l1/smooth-l1/huber/
bce-with-logits, int64 class indices for cross-entropy/nll, e.g. `[N, T]` for outputs `[N, C, T]`;
-100, PyTorch's ignore_index, marks padding), and optionally `eval_inputs`/`eval_targets`, the
held-out split evaluated after every epoch.

`method="script"` (the default) keeps train/eval behaviour (dropout, batch norm) switchable;
`method="trace"` records the operations run on one example batch, in the mode the model is in at
that moment, and works for models `torch.jit.script` cannot compile.
"""
import argparse
import os
import warnings

import torch
import torch.nn as nn
from safetensors.torch import save_file

MODEL_FILE = "model.pt"
DATA_FILE = "data.safetensors"


def _check_split(inputs, targets, what):
    if not isinstance(inputs, torch.Tensor) or not isinstance(targets, torch.Tensor):
        raise TypeError(f"{what}: inputs and targets must be tensors")
    if not inputs.is_floating_point() and inputs.dtype != torch.int64:
        raise TypeError(f"{what}: inputs must be a float tensor (or int64 token ids), got "
                        f"{inputs.dtype}")
    if inputs.dim() == 0 or targets.dim() == 0 or inputs.shape[0] != targets.shape[0]:
        raise ValueError(
            f"{what}: inputs {tuple(inputs.shape)} and targets {tuple(targets.shape)} "
            "must have the same number of samples along dimension 0"
        )
    if inputs.shape[0] == 0:
        raise ValueError(f"{what}: the dataset is empty")


def export(model, inputs, targets, eval_inputs=None, eval_targets=None, out_dir=".",
           method="script"):
    """Writes `out_dir/model.pt` (TorchScript) and `out_dir/data.safetensors`; returns both paths.

    The model is exported as it is now (its current weights are the run's initial weights), on the
    CPU. `method` is "script" (torch.jit.script) or "trace" (torch.jit.trace on `inputs[:2]`).
    """
    _check_split(inputs, targets, "inputs/targets")
    tensors = {"inputs": inputs, "targets": targets}
    if (eval_inputs is None) != (eval_targets is None):
        raise ValueError("give both eval_inputs and eval_targets, or neither")
    if eval_inputs is not None:
        _check_split(eval_inputs, eval_targets, "eval_inputs/eval_targets")
        tensors.update(eval_inputs=eval_inputs, eval_targets=eval_targets)

    os.makedirs(out_dir, exist_ok=True)
    model = model.cpu()
    with warnings.catch_warnings():
        # torch.jit.script still works in 2.11 but warns that TorchScript is deprecated.
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.simplefilter("ignore", category=FutureWarning)
        if method == "script":
            module = torch.jit.script(model)
        elif method == "trace":
            module = torch.jit.trace(model, inputs[:2].cpu())
        else:
            raise ValueError(f"method must be 'script' or 'trace', got {method!r}")
    model_path = os.path.join(out_dir, MODEL_FILE)
    module.save(model_path)

    data_path = os.path.join(out_dir, DATA_FILE)
    save_file({k: v.detach().cpu().contiguous() for k, v in tensors.items()}, data_path)
    return model_path, data_path


class SmallCnn(nn.Module):
    """conv 1->8 (3x3), batch norm, ReLU, 2x2 max-pool, linear 8*4*4 -> classes."""

    def __init__(self, classes=3):
        super().__init__()
        self.conv = nn.Conv2d(1, 8, kernel_size=3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8 * 4 * 4, classes)

    def forward(self, x):
        x = torch.max_pool2d(torch.relu(self.bn(self.conv(x))), 2)
        return self.fc(x.flatten(1))


def synthetic_images(n, classes=3, generator=None):
    """8x8 images: a noisy bright row whose position (top, middle, bottom) is the class."""
    labels = torch.randint(0, classes, (n,), generator=generator)
    images = 0.3 * torch.randn(n, 1, 8, 8, generator=generator)
    rows = (labels * 3).clamp(max=7)
    images[torch.arange(n), 0, rows, :] += 1.0
    return images, labels


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs/own-example", help="folder for model.pt and data")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    model = SmallCnn()
    gen = torch.Generator().manual_seed(args.seed)
    inputs, targets = synthetic_images(203, generator=gen)
    eval_inputs, eval_targets = synthetic_images(61, generator=gen)
    model_path, data_path = export(model, inputs, targets, eval_inputs, eval_targets, args.out)
    print(f"wrote {model_path} and {data_path}")
    print(f"train: tch-harness train --model {model_path} --data {data_path} "
          "--loss cross-entropy --epochs 5 --batch-size 16 --lr 0.05")


if __name__ == "__main__":
    main()
