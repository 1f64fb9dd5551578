"""`early_stopping`: Lightning's EarlyStopping rule (lightning/pytorch/callbacks/early_stopping.py,
`_evaluate_stopping_criteria`) on each epoch's record, so that the reference stops after the same
epoch as the harness (src/callbacks/early_stopping.rs). `model_checkpoint`, `logger` and
`log_every_n_steps` only write files: the reference reads and ignores them."""
import math


class EarlyStopping:
    """Lightning's keywords and defaults; compared in float64 (the records' values)."""

    def __init__(self, monitor, min_delta=0.0, patience=3, verbose=False, mode="min", strict=True,
                 check_finite=True, stopping_threshold=None, divergence_threshold=None):
        self.monitor, self.patience, self.strict = monitor, patience, strict
        self.check_finite = check_finite
        self.stopping_threshold, self.divergence_threshold = stopping_threshold, divergence_threshold
        self.better = (lambda a, b: a < b) if mode == "min" else (lambda a, b: a > b)
        self.min_delta = min_delta if mode == "max" else -min_delta  # Lightning's sign flip
        self.best = math.inf if mode == "min" else -math.inf
        self.wait = 0

    def should_stop(self, record):
        """Updates the watch with `record`; True when the run ends after it."""
        current = record.get(self.monitor)
        if current is None and self.monitor.startswith("eval_"):  # a --metrics name: eval_macro_f1
            current = record.get("eval_metrics", {}).get(self.monitor[len("eval_"):])
        if current is None:
            if self.strict:
                raise SystemExit(f"error: early stopping: '{self.monitor}' is not in the record")
            return False
        if self.check_finite and not math.isfinite(current):
            return True
        if self.stopping_threshold is not None and self.better(current, self.stopping_threshold):
            return True
        if self.divergence_threshold is not None and self.better(-current, -self.divergence_threshold):
            return True
        if self.better(current - self.min_delta, self.best):
            self.best, self.wait = current, 0
            return False
        self.wait += 1
        return self.wait >= self.patience


def early_stopping(cfg):
    """The configuration's EarlyStopping, or None."""
    spec = cfg.get("early_stopping")
    return None if spec is None else eval(spec, {"__builtins__": {}}, {"EarlyStopping": EarlyStopping,
                                                                      "True": True, "False": False,
                                                                      "None": None})
