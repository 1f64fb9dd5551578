"""`--metrics` on the eval split with plain torch (the reference stays torch-only; the tests check
both sides against torchmetrics) — the harness's `metrics/`.

Every metric keeps float64 sums, never per-batch ratios: top-k hits and targets, per-class
tp/fp/fn of the argmax predictions, the token NLL sum and its count; targets equal to ignore_index
(and the predictions at them) are left out. The sums are added over batches and over the group,
and the value is taken once: micro = ratio of the summed counts, macro = mean of the per-class
ratios over the classes with tp + fp + fn > 0 (torchmetrics 1.9.0), zero_division 0; perplexity =
exp(nll_sum / tokens)."""
import math
import re

import torch
import torch.nn.functional as F

from .criterion import CLASS_LOSSES

TOP_K = re.compile(r"top([1-9][0-9]*)_accuracy")
CLASS = re.compile(r"(micro|macro)_(precision|recall|f1)")


class Metrics:
    """The configuration's `metrics`, for `criterion`'s outputs; `update` per batch, `state` to
    sum over the group, `values` from the summed state."""

    def __init__(self, names, criterion):
        self.names = list(names)
        for name in self.names:
            if not (TOP_K.fullmatch(name) or CLASS.fullmatch(name) or name == "perplexity"):
                raise SystemExit(f"error: --metrics: unknown metric '{name}'")
        if self.names and criterion.name not in CLASS_LOSSES:
            raise SystemExit(f"error: --metrics {self.names[0]} needs class-index targets "
                             f"(--loss cross-entropy or nll), not --loss {criterion.name}")
        self.ignore_index = criterion.ignore_index
        self.logits = criterion.name == "cross-entropy"
        self.sums = None  # per name, a list of floats, sized on the first batch

    def update(self, outputs, targets):
        if not self.names:
            return
        keep = (targets != self.ignore_index).flatten()
        if self.sums is None:
            self.sums = {name: [0.0] * self._size(name, outputs.shape[1]) for name in self.names}
        for name in self.names:
            batch = self._batch(name, outputs, targets, keep)
            self.sums[name] = [s + b for s, b in zip(self.sums[name], batch)]

    def _size(self, name, classes):
        return 3 * classes if CLASS.fullmatch(name) else 2

    def _batch(self, name, outputs, targets, keep):
        top = TOP_K.fullmatch(name)
        if top:
            indices = outputs.topk(int(top.group(1)), dim=1).indices
            hit = (indices == targets.unsqueeze(1)).any(dim=1).flatten() & keep
            return [float(hit.sum().item()), float(keep.sum().item())]
        if name == "perplexity":
            loss = F.cross_entropy if self.logits else F.nll_loss
            nll = loss(outputs, targets, ignore_index=self.ignore_index, reduction="sum")
            return [nll.item(), float(keep.sum().item())]
        classes = outputs.shape[1]
        preds = outputs.argmax(dim=1).flatten()[keep]
        kept = targets.flatten()[keep]
        per_class = lambda labels: torch.bincount(labels.cpu(), minlength=classes)
        tp = per_class(kept[preds == kept])
        fp, fn = per_class(preds) - tp, per_class(kept) - tp
        return [float(v) for v in torch.cat([tp, fp, fn]).tolist()]

    def state(self):
        return [v for name in self.names for v in self.sums[name]] if self.sums else []

    def values(self, summed):
        """{name: value} from the summed state; a metric with nothing counted is left out."""
        values, at = {}, 0
        for name in self.names:
            n = len(self.sums[name])
            value = _value(name, summed[at:at + n])
            at += n
            if value is not None:
                values[name] = value
        return values


def _value(name, state):
    if TOP_K.fullmatch(name):
        return state[0] / state[1] if state[1] > 0 else None
    if name == "perplexity":
        return math.exp(state[0] / state[1]) if state[1] > 0 else None
    average, stat = CLASS.fullmatch(name).groups()
    c = len(state) // 3
    tp, fp, fn = state[:c], state[c:2 * c], state[2 * c:]

    def ratio(tp, fp, fn):
        num, den = {"precision": (tp, tp + fp), "recall": (tp, tp + fn),
                    "f1": (2.0 * tp, 2.0 * tp + fp + fn)}[stat]
        return num / den if den > 0 else 0.0  # zero_division=0

    if average == "micro":
        return ratio(_total(tp), _total(fp), _total(fn))
    occurring = [i for i in range(c) if tp[i] + fp[i] + fn[i] > 0]  # torchmetrics #1691
    if not occurring:
        return 0.0
    return _total(ratio(tp[i], fp[i], fn[i]) for i in occurring) / len(occurring)


def _total(values):
    """Σ left to right in float64, as the harness sums (Python 3.12's sum() compensates)."""
    s = 0.0
    for v in values:
        s += v
    return s
