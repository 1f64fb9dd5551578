"""The training loop, once, for 1..N processes (one process is a group of one): the seed's loop,
shaped like pytorch/examples' mnist/main.py `train()` and `test()`.

Same weighting: each batch's mean counts for the number of elements it is over — its samples, or
for cross-entropy/nll its targets that are not ignore_index, weighted by their class weights —
summed per sample once (`Criterion.sample_counts`) and per batch left to right in float64, so the
epoch loss is the one-shot mean over the dataset. With `accumulate` N the optimizer steps every N
batches, each batch's loss scaled by its count over its window's before backward.

In a group of N (distributed.py) each process takes its shard of every batch; its loss is its
shard's mean times its shard's count over the window's, so the SUM of the processes' gradients is
the gradient of the global window's mean; the tallies are summed over the group. Its forward pass
knows its rows of the global batch (rows.py: dropout draws the whole batch's mask), and with
SyncBatchNorm a rank without counted rows still runs forward and a zero backward, for the
collectives inside batch norm."""
import contextlib
import math

import torch

from . import rows, sync_batchnorm


def total(values):
    """Σ values left to right in float64, as the harness sums counts (Python 3.12's sum() of
    floats compensates)."""
    s = 0.0
    for v in values:
        s += v
    return s


def train(model, loader, seams, criterion, group, epoch, trace=None, autocast=contextlib.nullcontext):
    """One epoch, this process's shard of it; returns (average loss, samples, batches, count)
    for the whole group. `trace` is (Tracer, EpochShuffle or None) for --trace, or None;
    `autocast` makes the region forward + criterion run in (precision.py)."""
    model.train()
    total_loss = 0.0
    total_count = 0.0
    samples = 0
    # Each batch's count, known before its accumulation window starts (sample order is drawn
    # when the loader starts, so listing it first draws nothing else).
    batches = [(inputs, targets, counts, total(counts.tolist())) for inputs, targets, counts in loader]
    params = list(model.parameters())
    synced = sync_batchnorm.active(model)
    for start in range(0, len(batches), seams.accumulate):
        window = batches[start:start + seams.accumulate]  # the last one may be shorter
        window_count = total(count for *_, count in window)
        seams.optimizer.zero_grad()
        losses = []
        for at, (inputs, targets, counts, batch_count) in enumerate(window):
            lo, hi = group.shard(len(inputs))
            samples += hi - lo
            count = total(counts[lo:hi].tolist())  # the seed's batch_size
            joins = synced and batch_count > 0  # the other ranks' SyncBatchNorm waits for ours
            if count == 0 and not joins:
                continue  # no samples here, or every target ignored (PyTorch's mean is NaN)
            with rows.batch_rows(len(inputs), lo, hi), autocast():
                outputs = model(inputs[lo:hi])
                _loss = criterion(outputs, targets[lo:hi]) if count > 0 else None  # batch mean
            if _loss is None:  # nothing counted here: a zero backward, for the collectives
                share = outputs.sum() * 0.0
            else:
                value = _loss.item()
                if not math.isfinite(value):
                    raise SystemExit(f"error: {group.who()}non-finite loss {value} in epoch {epoch}, "
                                     f"batch {start + at + 1}")
                share = _loss * (count / window_count)
            seams.scale(share).backward()  # share, then loss scale
            if _loss is None:
                continue
            losses.append(value)
            total_loss += value * count  # batch sum
            total_count += count
        # Decided on the global counts, so every process reduces and steps alike.
        if any(count != 0 for *_, count in window):
            group.reduce_grads(params)
            seams.step()  # clipping, optimizer.step(), a per-batch scheduler
            if trace is not None:
                tracer, sampler = trace  # the order is drawn by now (batches listed)
                order = sampler.order if sampler is not None else range(len(loader.dataset))
                size = loader.batch_size
                indices = order[start * size:(start + len(window)) * size]
                tracer.step(model, losses, indices, epoch, start + len(window))
    total_loss, total_count, samples = group.sum([total_loss, total_count, samples])
    group.check_all(samples, len(loader.dataset), "trained")
    average_loss = total_loss / total_count  # NOT / len(loader)
    return average_loss, int(samples), len(batches), total_count


def test(model, loader, criterion, group, metrics, autocast=contextlib.nullcontext):
    """The eval loss (batch means weighted by their counts), accuracy and count, over the group;
    `metrics` (metrics.Metrics) updated from the same outputs, their values over the group."""
    model.eval()
    total_loss = 0.0
    total_count = 0.0
    correct, counted, samples = 0, 0, 0
    with torch.no_grad(), autocast():  # the whole pass in one region, as the harness
        for inputs, targets, counts in loader:
            lo, hi = group.shard(len(inputs))
            samples += hi - lo
            if hi == lo:
                continue
            count = total(counts[lo:hi].tolist())
            outputs = model(inputs[lo:hi])
            if count > 0:
                total_loss += criterion(outputs, targets[lo:hi]).item() * count
                total_count += count
            metrics.update(outputs, targets[lo:hi])
            right = criterion.correct(outputs, targets[lo:hi])
            if right is not None:
                correct, counted = correct + right[0], counted + right[1]
    total_loss, total_count, correct, counted, samples = group.sum(
        [total_loss, total_count, correct, counted, samples])
    group.check_all(samples, len(loader.dataset), "evaluated")
    accuracy = correct / counted if counted else None
    metric_values = metrics.values(group.sum(metrics.state()) if metrics.state() else [])
    return total_loss / total_count, accuracy, total_count, metric_values
