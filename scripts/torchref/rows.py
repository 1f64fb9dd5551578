"""Which rows of the global batch a forward pass holds — the harness's src/model/batch_rows.rs. In
a group of N each rank holds rows [lo, hi) of a batch of m; its dropout draws the whole batch's
mask, as one process, and keeps its rows, so N processes draw one process's masks."""
import contextlib

import torch
from torch import nn

_ROWS = None  # (m, lo, hi) while a forward pass over part of a batch runs


@contextlib.contextmanager
def batch_rows(m, lo, hi):
    global _ROWS
    before, _ROWS = _ROWS, (m, lo, hi)
    try:
        yield
    finally:
        _ROWS = before


class RowsDropout(nn.Dropout):
    """nn.Dropout that, on part of a batch, draws the whole batch's mask and keeps its rows
    (torch.dropout of ones is the mask itself: 1 × noise / (1 - p))."""

    def forward(self, input):
        rows = _ROWS
        if (rows is None or (rows[1] == 0 and rows[2] == rows[0]) or not self.training
                or not 0.0 < self.p < 1.0 or input.size(0) != rows[2] - rows[1]):
            return super().forward(input)
        m, lo, hi = rows
        mask = torch.dropout(torch.ones((m,) + tuple(input.shape[1:]), dtype=input.dtype,
                                        device=input.device), self.p, True)
        return input * mask[lo:hi]


def convert(model):
    """The model's nn.Dropout layers drawing per global batch (the same modules, re-classed)."""
    for module in model.modules():
        if type(module) is nn.Dropout:
            module.__class__ = RowsDropout
    return model
