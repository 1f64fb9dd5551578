"""A whole run, as one process of a group (a group of one alone): the model, the data and the
optimizer from the configuration, then per epoch `loop.train` and `loop.test`, into a run
directory laid out as the harness's (config.json, metrics.jsonl, model.safetensors, trace.jsonl)
— the harness's `run/`. Rank 0 alone writes it and prints."""
import json
import os
import time

import torch

from . import backends, loop, model as models, rows, sync_batchnorm
from .criterion import Criterion
from .metrics import Metrics
from .early_stopping import early_stopping
from .data import EpochShuffle, counted_set, loader
from .experiments import EXPERIMENTS, load_data
from .ema import Averaging
from .precision import autocast_for
from .step import Seams
from .trace import Tracer


def resolve_device(name):
    if name == "auto":
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(f"error: --device {name}: CUDA is not available")
    return torch.device("cuda:0" if name == "cuda" else name)


def train_from(cfg, out, group):
    """Trains the configuration `cfg` (the harness's `config`) into the run directory `out`, as
    one rank of `group` (distributed.Group)."""
    lead = group.rank == 0  # writes the run directory and prints
    backends.apply(cfg)  # before any CUDA work
    if cfg["threads"] is not None or group.world > 1:
        torch.set_num_threads(cfg["threads"] or 1)  # a rank runs one thread unless told
    device = resolve_device(cfg["device"])
    experiment, torchscript = cfg["experiment"], cfg["model"] is not None
    criterion = Criterion(cfg["loss"] or EXPERIMENTS[experiment]["loss"], cfg, device)

    torch.manual_seed(cfg["seed"])
    x_train, y_train, x_eval, y_eval = load_data(experiment, cfg["data"])
    model = models.build(cfg)
    if cfg["init"]:
        models.load_init(model, cfg["init"], not torchscript, cfg.get("init_key"))
    model = model.to(device)
    group.broadcast(list(model.parameters()) + list(model.buffers()))  # as DDP starts
    if group.world > 1 and not torchscript:
        model = rows.convert(model)  # dropout: one process's masks, each rank its rows
        if cfg.get("sync_batchnorm", True):  # a config.json from before the key: on
            model = sync_batchnorm.convert(model)
    train_set = counted_set(x_train, y_train, criterion, device)
    eval_set = None if x_eval is None else counted_set(x_eval, y_eval, criterion, device)
    sampler = EpochShuffle(len(train_set), cfg["seed"]) if cfg["shuffle"] else None
    train_loader = loader(train_set, cfg["batch_size"], sampler)
    eval_loader = None if eval_set is None else loader(eval_set, cfg["batch_size"])
    seams = Seams(cfg, model)
    seams.averaging = averaging = Averaging(cfg, model, seams)
    stopper = early_stopping(cfg)
    autocast = autocast_for(cfg.get("precision", "32"), device)

    out = out or os.path.join("runs", f"{experiment}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-py")
    if lead:
        os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json") if lead else os.devnull, "w") as f:
        json.dump({"config": cfg, "device": str(device), "threads": torch.get_num_threads(),
                   "backends": backends.state(),
                   "torch_version": torch.__version__, "train_samples": len(train_set),
                   "eval_samples": None if eval_set is None else len(eval_set)}, f, indent=2)
    epochs = cfg["epochs"]
    tracer = Tracer(os.path.join(out, "trace.jsonl"), buffers=not torchscript) if cfg.get("trace") else None
    if tracer is not None:
        tracer.start(model)
    with open(os.path.join(out, "metrics.jsonl") if lead else os.devnull, "w") as metrics:
        run_started = time.perf_counter()
        for epoch in range(1, epochs + 1):
            started = time.perf_counter()
            if sampler is not None:
                sampler.epoch = epoch
            trace = None if tracer is None else (tracer, sampler)
            seams.held = averaging.swa_phase(epoch)
            train_loss, samples, batches, train_count = loop.train(model, train_loader, seams, criterion,
                                                                   group, epoch, trace, autocast)
            group.check_same(list(model.parameters()), epoch)
            # Rank 0's buffers (batch-norm statistics, each rank's own so far) for all, as DDP's
            # broadcast_buffers: every rank evaluates the model rank 0 saves.
            group.broadcast(list(model.buffers()))
            train_seconds = time.perf_counter() - started
            eval_loss, eval_accuracy, eval_count, eval_metrics = None, None, None, {}
            if eval_loader is not None:
                eval_loss, eval_accuracy, eval_count, eval_metrics = loop.test(
                    model, eval_loader, criterion, group, Metrics(cfg.get("metrics") or [], criterion),
                    autocast)
            lr, grad_norm_max = seams.end_epoch(train_loss, eval_loss)
            averaging.end_epoch(model, epoch)
            if epoch == epochs:
                averaging.update_bn(train_loader)
            averaged = {} if eval_loader is None else averaging.evaluate(
                lambda module: loop.test(module, eval_loader, criterion, group,
                                         Metrics(cfg.get("metrics") or [], criterion), autocast))
            record = {"epoch": epoch, "train_loss": train_loss, "lr": lr, "train_samples": samples, "batches": batches,
                      "seconds": time.perf_counter() - started, "train_seconds": train_seconds,
                      "elapsed_seconds": time.perf_counter() - run_started}
            if train_count != samples:
                record["train_count"] = train_count
            if eval_loss is not None:
                record["eval_loss"] = eval_loss
                if eval_count != len(eval_set):
                    record["eval_count"] = eval_count
            if eval_accuracy is not None:
                record["eval_accuracy"] = eval_accuracy
            if eval_metrics:
                record["eval_metrics"] = eval_metrics
            if grad_norm_max is not None:
                record["grad_norm_max"] = grad_norm_max
            record.update(averaged)
            record.update(seams.scaler_metrics())
            metrics.write(json.dumps(record) + "\n")
            metrics.flush()
            if lead:
                print(f"epoch {epoch:>3}/{epochs}  train_loss {train_loss:.6f}"
                      + (f"  eval_loss {eval_loss:.6f}" if eval_loss is not None else "")
                      + (f"  eval_acc {eval_accuracy * 100:.2f}%" if eval_accuracy is not None else "")
                      + f"  samples {samples}  batches {batches}  {record['seconds']:.3f}s", flush=True)
            if stopper is not None and stopper.should_stop(record):
                break  # every rank: the same reduced record
    if tracer is not None:
        tracer.close()
    if lead:
        models.save(model, out, torchscript, cfg.get("save_format", "safetensors"))
        for kind, averaged in averaging.models.items():
            models.save_averaged(averaged, os.path.join(out, f"model_{kind}.safetensors"), not torchscript)
