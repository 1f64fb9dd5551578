"""--precision (Lightning's spelling): the forward pass and the criterion under
`torch.autocast(device.type, dtype=…)`, as Lightning's MixedPrecision plugin and the torch.amp
recipes wrap them; weights, gradients, the backward pass and the optimizer stay outside it — the
harness's `autocast.rs` and `train/autocast.rs`. No GradScaler here: 16-mixed runs without one."""
import torch

DTYPES = {"32": None, "bf16-mixed": torch.bfloat16, "16-mixed": torch.float16}


def autocast_for(precision, device):
    """A factory of fresh autocast regions for `device` (one `with` each, as a recipe enters one
    per batch); a disabled region for "32"."""
    if precision not in DTYPES:
        raise SystemExit(f"error: unknown --precision '{precision}' (expected "
                         f"{', '.join(list(DTYPES)[:-1])} or {list(DTYPES)[-1]})")
    dtype = DTYPES[precision]
    return lambda: torch.autocast(device.type, dtype=dtype, enabled=dtype is not None)
