"""What happens around optimizer.step(), as at the harness's seams (`train/step.rs`): the loss
scaler's unscale_ and gradient clipping before it, the scaler's update and a per-batch scheduler
after it (stepped or skipped by the scaler), a per-epoch one at the epoch's end."""
import math

import torch

from .optim import Optimizers, Schedulers
from .scaler import found_inf, make_scaler


class Seams:
    """The step's seams, and the rate and largest pre-clip norm each epoch records."""

    def __init__(self, cfg, model):
        self.model = model
        self.optimizer = Optimizers(cfg, model)
        self.clip_norm, self.clip_value = cfg.get("clip_grad_norm"), cfg.get("clip_grad_value")
        norm_type = cfg.get("clip_norm_type", 2.0)
        self.norm_type = math.inf if norm_type == "inf" else norm_type
        self.scheduler = None if cfg.get("scheduler") is None else Schedulers(cfg["scheduler"], self.optimizer)
        self.per_batch = cfg.get("scheduler_interval", "epoch") == "batch"
        self.accumulate = cfg.get("accumulate", 1)
        self.lr, self.largest_norm = None, None
        self.averaging, self.held = None, False  # ema.Averaging (run.py); SWA holds the scheduler
        self.scaler = make_scaler(cfg.get("grad_scaler"), next(model.parameters()).device,
                                  cfg.get("precision", "32"))
        self.skipped_steps = 0

    def scale(self, loss):
        """scaler.scale(loss): what backward() starts from."""
        return loss if self.scaler is None else self.scaler.scale(loss)

    def step(self):
        skipped = False
        if self.scaler is not None:
            for part in self.optimizer.parts:
                self.scaler.unscale_(part)  # once per step, before clipping
            skipped = found_inf(self.scaler, self.optimizer)
            self.skipped_steps += skipped
        if self.clip_norm is not None:
            norm = float(torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip_norm,
                                                        self.norm_type))
            if not skipped:  # the largest norm of the steps taken (a skipped one's is inf/nan)
                self.largest_norm = norm if self.largest_norm is None else max(self.largest_norm, norm)
        if self.clip_value is not None:
            torch.nn.utils.clip_grad_value_(self.model.parameters(), self.clip_value)
        self.lr = self.optimizer.param_groups[0]["lr"]
        if self.scaler is None:
            self.optimizer.step()
        else:
            for part in self.optimizer.parts:
                self.scaler.step(part)
            self.scaler.update()
        if self.scheduler is not None and self.per_batch and not self.held:
            self.scheduler.step()
        if self.averaging is not None:
            self.averaging.after_step(self.model)

    def end_epoch(self, train_loss, eval_loss):
        """Steps a per-epoch scheduler (ReduceLROnPlateau on the eval loss, else the train loss);
        returns the epoch's rate and largest pre-clip norm."""
        if self.scheduler is not None and not self.per_batch and not self.held:
            if self.scheduler.on_plateau:
                self.scheduler.step(eval_loss if eval_loss is not None else train_loss)
            else:
                self.scheduler.step()
        values, self.largest_norm = (self.lr, self.largest_norm), None
        return values

    def scaler_metrics(self):
        """metrics.jsonl's loss_scale (at the epoch's end) and skipped_steps (in the epoch)."""
        if self.scaler is None:
            return {}
        values, self.skipped_steps = {"loss_scale": self.scaler.get_scale(),
                                      "skipped_steps": self.skipped_steps}, 0
        return values
