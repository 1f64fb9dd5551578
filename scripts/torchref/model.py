"""The model a configuration trains, and its weights in and out: a built-in experiment's
`nn.Module` made right after torch.manual_seed(seed) (and, for linear-regression, after the
synthetic data's draws), on the CPU, with PyTorch's default init; or a TorchScript file, which
keeps the weights it was saved with. `--init` copies a state_dict into it, strictly, as the
harness does; model.safetensors is what comes back out."""
import os
import zipfile

import torch
from safetensors.torch import load_file, save_file

from .experiments import make_net


def build(cfg):
    """The configuration's model, on the CPU."""
    if cfg["model"] is None:
        return make_net(cfg["experiment"])
    # The harness runs TorchScript from C++ the way eager PyTorch computes it; Python's graph
    # executor would differentiate its optimized graph instead, whose gradients differ in the
    # last bits (nn.Linear on [N, T, ...] inputs). Same gradients: no executor optimization.
    torch._C._set_graph_executor_optimize(False)
    return torch.jit.load(cfg["model"], map_location="cpu")


def model_state(model, with_buffers):
    """What --init loads and model.safetensors holds: the parameters and, for a built-in model,
    its buffers (batch-norm statistics), as the harness's state_dict; a TorchScript model's
    parameters only (the harness trains those and leaves its buffers inside the module)."""
    state = dict(model.named_parameters())
    if with_buffers:
        state.update(model.named_buffers())
    return state


def read_state_dict(path, key):
    """A state_dict file as the harness reads it, by content: torch.save's zip (only tensors
    and containers: weights_only=True; `key` picks the entry of a checkpoint dict), else
    safetensors."""
    if not zipfile.is_zipfile(path):
        if key is not None:
            raise SystemExit(f"error: {path}: --init-key {key} applies to a torch.save file")
        return load_file(path)
    value = torch.load(path, map_location="cpu", weights_only=True)
    if key is not None:
        if not isinstance(value, dict) or key not in value:
            raise SystemExit(f"error: {path}: --init-key {key}: no such entry")
        value = value[key]
    return value


def load_init(model, path, with_buffers, key=None):
    """--init: copies a state_dict into the model, strictly like the harness: every entry of
    `model_state`, nothing else, with the same shapes and dtypes."""
    given = read_state_dict(path, key)
    state = model_state(model, with_buffers)
    problems = []
    missing = [k for k in sorted(state) if k not in given]
    unexpected = [k for k in sorted(given) if k not in state]
    mismatched = [k for k in sorted(state) if k in given
                  and (given[k].shape != state[k].shape or given[k].dtype != state[k].dtype)]
    for what, keys in [("missing keys", missing), ("unexpected keys", unexpected),
                       ("shape/dtype mismatch", mismatched)]:
        if keys:
            problems.append(f"{what}: {', '.join(keys)}")
    if problems:
        raise SystemExit(f"error: {path}: state_dict does not fit the model: {'; '.join(problems)}")
    with torch.no_grad():
        for name, t in state.items():
            t.copy_(given[name])


def save(model, out, torchscript, save_format="safetensors"):
    """The state_dict as the harness saves it (also as model.pth with save_format "pt"); a
    TorchScript model also as model.pt, in eval mode."""
    state = {k: v.detach().cpu().contiguous() for k, v in model_state(model, not torchscript).items()}
    save_file(state, os.path.join(out, "model.safetensors"))
    if save_format == "pt":
        torch.save(state, os.path.join(out, "model.pth"))
    if torchscript:
        model.eval()
        model.save(os.path.join(out, "model.pt"))


def save_averaged(averaged, path, with_buffers):
    """An AveragedModel's module state_dict as the harness saves it, n_averaged in the metadata."""
    save_file({k: v.detach().cpu().contiguous() for k, v in model_state(averaged.module, with_buffers).items()},
              path, metadata={"n_averaged": str(int(averaged.n_averaged))})
