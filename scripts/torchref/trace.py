"""Writes trace.jsonl from a PyTorch training loop, in the format of `tch-harness train --trace`,
so that `tch-harness diff RUN_A RUN_B` can name the first step and tensor where two runs part
(say your PyTorch script and its Rust port). Call it once per optimizer step:

    import sys; sys.path.insert(0, "scripts")
    from trace import Tracer                                   # scripts/trace.py: this module
    tracer = Tracer("runs/mine/trace.jsonl")
    tracer.start(model)                                        # step 0: the initial state
    for epoch in range(1, epochs + 1):
        for batch, (inputs, targets, indices) in enumerate(loader, 1):
            ...
            optimizer.step()
            tracer.step(model, [loss.item()], indices, epoch, batch)
    tracer.close()

`indices` are the step's samples' positions in the training set (a TensorDataset can carry
`torch.arange(n)` alongside the data). The format, one JSON object per line:

- step 0: {"step": 0, "values": [fingerprint + "dtype", "shape", ...]} over model.state_dict();
- each step: {"step", "epoch", "batch", "losses", "samples", "order", "grads", "values"}:
  the batch losses of the step (several with gradient accumulation), how many samples and the
  hash of their indices (int64 little-endian bytes), the gradients in model.named_parameters()
  order (after clipping: what the optimizer received), and model.state_dict() after the step;
- a fingerprint: {"name", "sha": first 16 hex digits of SHA-256 of the tensor's contiguous
  little-endian bytes, "norm": t.double().norm(), "sum": t.double().sum(),
  "max_abs": t.double().abs().max()}; a non-finite number is written "nan", "inf" or "-inf".
"""
import hashlib
import json
import math

import torch


def _number(v):
    v = float(v)
    if math.isfinite(v):
        return v
    return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")


def _bytes(t):
    t = t.detach().cpu().contiguous()
    return t.reshape(-1).view(torch.uint8).numpy().tobytes() if t.numel() else b""


def hash_bytes(data):
    return hashlib.sha256(data).hexdigest()[:16]


def fingerprint(name, t, layout=False):
    t = t.detach()
    wide = t.double()
    record = {"name": name, "sha": hash_bytes(_bytes(t)), "norm": _number(wide.norm()),
              "sum": _number(wide.sum()), "max_abs": _number(wide.abs().max()) if t.numel() else 0.0}
    if layout:
        record["dtype"] = str(t.dtype).removeprefix("torch.")
        record["shape"] = list(t.shape)
    return record


class Tracer:
    """`buffers=False` leaves buffers out of the values (as the harness does for a TorchScript
    model, whose buffers stay inside the module)."""

    def __init__(self, path, buffers=True):
        self.file, self.steps, self.buffers = open(path, "w"), 0, buffers

    def _state(self, model):
        if self.buffers:
            return model.state_dict().items()
        return [(k, p.detach()) for k, p in model.named_parameters()]

    def _write(self, line):
        self.file.write(json.dumps(line) + "\n")
        self.file.flush()

    def start(self, model):
        self._write({"step": 0, "values": [fingerprint(k, v, True) for k, v in self._state(model)]})

    def step(self, model, losses, indices, epoch, batch):
        self.steps += 1
        indices = torch.as_tensor(indices, dtype=torch.int64)
        self._write({
            "step": self.steps, "epoch": epoch, "batch": batch, "losses": [float(v) for v in losses],
            "samples": indices.numel(), "order": hash_bytes(_bytes(indices)),
            "grads": [fingerprint(k, p.grad) for k, p in model.named_parameters() if p.grad is not None],
            "values": [fingerprint(k, v) for k, v in self._state(model)],
        })

    def close(self):
        self.file.close()
