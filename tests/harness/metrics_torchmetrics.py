# The eval metrics of a finished run, recomputed from its model.safetensors by torchmetrics 1.9.0
# (sys.argv[1]: the run directory). Prints JSON {name: {"torchmetrics": its compute(), "exact":
# float64 from torchmetrics' own integer state (or, for perplexity, from per-batch float32 NLL
# sums), "state": the state}}. Batches as the run's (its batch size), fed one update each.
import json
import math
import os
import sys

import torch
import torch.nn.functional as F
from torchmetrics.classification import (MulticlassAccuracy, MulticlassF1Score, MulticlassPrecision,
                                         MulticlassRecall, MulticlassStatScores)
from torchmetrics.text import Perplexity

sys.path.insert(0, "scripts")
from torchref import model as models  # noqa: E402
from torchref.experiments import EXPERIMENTS, load_data  # noqa: E402

# As the runs (--threads 1): with more threads the GEMMs may sum in another order.
torch.set_num_threads(1)
run = sys.argv[1]
cfg = json.load(open(os.path.join(run, "config.json")))["config"]
net = models.build(cfg)
models.load_init(net, os.path.join(run, "model.safetensors"), True)
net.eval()
_, _, x_eval, y_eval = load_data(cfg["experiment"], cfg["data"])
ii = cfg["ignore_index"] if cfg["ignore_index"] is not None else -100
logits = (cfg["loss"] or EXPERIMENTS[cfg["experiment"]]["loss"]) == "cross-entropy"
with torch.no_grad():
    batches = [(net(x_eval[i:i + cfg["batch_size"]]), y_eval[i:i + cfg["batch_size"]])
               for i in range(0, len(x_eval), cfg["batch_size"])]
classes = batches[0][0].shape[1]


def total(values):
    s = 0.0
    for v in values:
        s += v
    return s


def stat(name):
    average, which = name.split("_")
    cls = {"precision": MulticlassPrecision, "recall": MulticlassRecall, "f1": MulticlassF1Score}[which]
    return cls(num_classes=classes, average=average, ignore_index=ii)


out = {}
for name in cfg["metrics"]:
    if name == "perplexity":
        metric = Perplexity(ignore_index=ii)
        nll, count = 0.0, 0
        for outputs, targets in batches:
            # torchmetrics wants [B, S, V]: the class dimension last.
            preds = outputs.unsqueeze(1) if outputs.dim() == 2 else outputs.movedim(1, -1)
            metric.update(preds if logits else preds.exp(), targets.reshape(len(targets), -1))
            loss = F.cross_entropy if logits else F.nll_loss
            nll += loss(outputs, targets, ignore_index=ii, reduction="sum").item()
            count += int((targets != ii).sum())
        out[name] = {"torchmetrics": metric.compute().item(), "exact": math.exp(nll / count)}
        continue
    if name.startswith("top"):
        k = int(name[3:].split("_")[0])
        metric = MulticlassAccuracy(num_classes=classes, top_k=k, average="micro", ignore_index=ii)
        for outputs, targets in batches:
            metric.update(outputs, targets)
        tp, fn = int(metric.tp.sum()), int(metric.fn.sum())
        out[name] = {"torchmetrics": metric.compute().item(), "exact": tp / (tp + fn)}
        continue
    metric, counts = stat(name), MulticlassStatScores(num_classes=classes, average=None, ignore_index=ii)
    for outputs, targets in batches:
        metric.update(outputs, targets)
        counts.update(outputs, targets)
    tp, fp, fn = ([float(v) for v in s.tolist()] for s in (counts.tp, counts.fp, counts.fn))
    which = name.split("_")[1]

    def ratio(t, p, n):
        num, den = {"precision": (t, t + p), "recall": (t, t + n), "f1": (2.0 * t, 2.0 * t + p + n)}[which]
        return num / den if den > 0 else 0.0

    if name.startswith("micro"):
        exact = ratio(total(tp), total(fp), total(fn))
    else:
        occurring = [c for c in range(classes) if tp[c] + fp[c] + fn[c] > 0]
        exact = total(ratio(tp[c], fp[c], fn[c]) for c in occurring) / len(occurring)
    out[name] = {"torchmetrics": metric.compute().item(), "exact": exact,
                 "state": {"tp": tp, "fp": fp, "fn": fn}}
print(json.dumps(out))
