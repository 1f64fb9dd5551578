"""Weight averaging with torch.optim.swa_utils, as the harness does it (`train/ema.rs`,
`train/swa.rs`, `train/averaged.rs`):

    ema_model = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=…)
    optimizer.step(); ema_model.update_parameters(model)      # after every step taken

    swa_model = AveragedModel(model); swa_scheduler = SWALR(optimizer, swa_lr=…, …)
    at the end of each epoch >= swa_start (1-based):
        swa_model.update_parameters(model); swa_scheduler.step()   # else scheduler.step()

    update_bn(train_loader, swa_model)                          # after the last epoch's update

Each averaged model that has averaged something is evaluated after the epoch's scheduler step
(`ema_eval_loss`, `swa_eval_accuracy`, … in metrics.jsonl) and saved as model_<kind>.safetensors."""
import math

from torch.optim.swa_utils import SWALR, AveragedModel, get_ema_multi_avg_fn, update_bn


def swa_settings(spec):
    """`SWA(swa_lr=…, swa_start=…, anneal_epochs=10, anneal_strategy='cos')` as a dict."""
    def SWA(swa_lr, swa_start, anneal_epochs=10, anneal_strategy="cos"):
        return {"swa_lr": swa_lr, "swa_start": swa_start, "anneal_epochs": anneal_epochs,
                "anneal_strategy": anneal_strategy}
    return eval(spec, {"__builtins__": {}}, {"SWA": SWA, "inf": math.inf})


class Averaging:
    """The run's averaged models (none, EMA, SWA or both) and SWA's schedulers."""

    def __init__(self, cfg, model, seams):
        self.models = {}
        if cfg.get("ema") is not None:
            self.models["ema"] = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(cfg["ema"]),
                                               use_buffers=cfg.get("ema_use_buffers", False))
        self.swa = None if cfg.get("swa") is None else swa_settings(cfg["swa"])
        if self.swa is not None:
            self.models["swa"] = AveragedModel(model)
            # One SWALR per torch optimizer (Optimizers may hold several), as Schedulers does.
            self.swa_schedulers = [
                SWALR(part, swa_lr=self.swa["swa_lr"], anneal_epochs=self.swa["anneal_epochs"],
                      anneal_strategy=self.swa["anneal_strategy"])
                for part in seams.optimizer.parts]

    def swa_phase(self, epoch):
        """Whether SWA drives the rate in epoch `epoch` (the regular scheduler is held)."""
        return self.swa is not None and epoch >= self.swa["swa_start"]

    def after_step(self, model):
        if "ema" in self.models:
            self.models["ema"].update_parameters(model)

    def end_epoch(self, model, epoch):
        """After the epoch's evaluation: SWA's update and its rate step."""
        if self.swa_phase(epoch):
            self.models["swa"].update_parameters(model)
            for scheduler in self.swa_schedulers:
                scheduler.step()

    def update_bn(self, train_loader):
        """At the run's end: the SWA model's batch-norm statistics recomputed over the training
        data (the loader draws the last epoch's order again)."""
        swa = self.models.get("swa")
        if swa is not None and int(swa.n_averaged) > 0:
            update_bn(train_loader, swa)

    def evaluate(self, test):
        """`test(module)` -> (loss, accuracy, count, metrics) of each model that has averaged something, as
        metrics.jsonl's fields."""
        fields = {}
        for kind, averaged in self.models.items():
            if int(averaged.n_averaged) > 0:
                loss, accuracy, _, _ = test(averaged.module)
                fields[f"{kind}_eval_loss"] = loss
                if accuracy is not None:
                    fields[f"{kind}_eval_accuracy"] = accuracy
        return fields
