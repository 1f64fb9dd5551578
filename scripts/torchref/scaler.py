"""`--grad-scaler`: torch.amp.GradScaler from its PyTorch spelling, as the harness's
`train/grad_scaler.rs` mirrors it. The loop uses it in PyTorch's canonical order (step.py): the
loss scaled by `scaler.scale` before its backward pass; at a window's end `scaler.unscale_` before
clipping, `scaler.step`, `scaler.update()`, then the scheduler, stepped or skipped."""
import math

import torch


def make_scaler(spec, device, precision="32"):
    """`GradScaler(init_scale=1024.0, growth_interval=100)` evaluated as Python into
    `torch.amp.GradScaler(device.type, **options)`; None with enabled=False, and without a spec
    unless the precision is 16-mixed (PyTorch's defaults then, as Lightning pairs them)."""
    if spec is None and precision == "16-mixed":
        spec = "GradScaler()"
    if spec is None:
        return None
    ns = {"GradScaler": lambda **kw: torch.amp.GradScaler(device.type, **kw),
          "inf": math.inf, "nan": math.nan}
    scaler = eval(spec, {"__builtins__": {}}, ns)
    return scaler if scaler.is_enabled() else None


def found_inf(scaler, optimizers):
    """Whether unscale_ found a non-finite gradient: the test scaler.step makes before it skips
    optimizer.step() (`_maybe_opt_step`)."""
    return any(sum(v.item() for v in scaler._found_inf_per_device(part).values())
               for part in optimizers.parts)
