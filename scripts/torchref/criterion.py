"""The criterion: the configuration's loss (a batch mean) with its keyword arguments, the count
each batch mean is over, and what counts as a right answer — the harness's `criterion/`."""
import inspect

import torch
import torch.nn.functional as F

# The harness's loss names (config.json's "loss") and the functions they run.
CRITERIA = {
    "mse": F.mse_loss,
    "l1": F.l1_loss,
    "smooth-l1": F.smooth_l1_loss,
    "huber": F.huber_loss,
    "cross-entropy": F.cross_entropy,
    "nll": F.nll_loss,
    "bce-with-logits": F.binary_cross_entropy_with_logits,
}

# Class-index losses, read from PyTorch rather than listed again: those taking an ignore_index.
CLASS_LOSSES = tuple(n for n, fn in CRITERIA.items() if "ignore_index" in inspect.signature(fn).parameters)


class Criterion:
    """The configuration's loss with its keyword arguments: F.cross_entropy(weight=,
    ignore_index=, label_smoothing=), F.nll_loss(weight=, ignore_index=),
    F.binary_cross_entropy_with_logits(pos_weight=); weights are float64, cast to the outputs'
    dtype, as the harness casts them."""

    def __init__(self, loss_name, cfg, device):
        self.name, self.fn = loss_name, CRITERIA[loss_name]
        self.ignore_index = cfg.get("ignore_index")
        if self.ignore_index is None:
            self.ignore_index = -100  # PyTorch's default
        self.weights = cfg.get("class_weights")
        self.label_smoothing = cfg.get("label_smoothing")
        as_tensor = lambda v: None if v is None else torch.tensor(v, dtype=torch.float64, device=device)
        self.weight, self.pos_weight = as_tensor(self.weights), as_tensor(cfg.get("pos_weight"))

    def __call__(self, outputs, targets):
        kwargs = {}
        if self.name in CLASS_LOSSES:
            kwargs["ignore_index"] = self.ignore_index
            if self.weight is not None:
                kwargs["weight"] = self.weight.to(outputs.dtype)
        if self.label_smoothing is not None:
            kwargs["label_smoothing"] = self.label_smoothing
        if self.pos_weight is not None:
            kwargs["pos_weight"] = self.pos_weight.to(outputs.dtype)
        return self.fn(outputs, targets, **kwargs)

    def sample_counts(self, targets):
        """Per sample, what it adds to the count its batch's mean is over: 1 (the mean is over
        every element, the same number per sample), or its targets that are not ignore_index,
        weighted by weight[target] (PyTorch's weighted mean divides by that sum)."""
        n = len(targets)
        if self.name not in CLASS_LOSSES:
            return torch.ones(n, dtype=torch.float64)
        targets = targets.cpu()
        keep = targets != self.ignore_index
        if self.weights is None:
            return keep.double().reshape(n, -1).sum(1, dtype=torch.float64)
        w = torch.tensor(self.weights, dtype=torch.float64)
        picked = w.index_select(0, targets.masked_fill(~keep, 0).flatten()).reshape(targets.shape)
        return picked.masked_fill(~keep, 0.0).reshape(n, -1).sum(1, dtype=torch.float64)

    def correct(self, outputs, targets):
        """Right answers and the targets counted (ignored ones are neither), or None."""
        if self.name in CLASS_LOSSES:
            keep = targets != self.ignore_index
            return ((outputs.argmax(dim=1) == targets) & keep).sum().item(), keep.sum().item()
        if self.name == "bce-with-logits":
            return ((outputs > 0).to(targets.dtype) == targets).sum().item(), targets.numel()
        return None
