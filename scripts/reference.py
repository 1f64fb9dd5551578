"""The PyTorch reference for tch-harness: each built-in experiment, or your own TorchScript model
and data file, in plain PyTorch, written as the seed's loop, shaped like pytorch/examples'
mnist/main.py. Its run directory matches the Rust binary's, so `tch-harness compare` can run both
and diff their epoch losses.

It trains from the same configuration the harness trains from: `--config FILE` takes the JSON
the harness writes (a run's config.json, or the `train-config.json` of a compare), so an option
is defined once on each side. The standalone flags, for running it by hand, build that same
configuration (same names and defaults as the binary's flags):

    .venv/bin/python scripts/reference.py --config runs/digits-mlp-20261126-083456/config.json
    .venv/bin/python scripts/reference.py --experiment digits-mlp --epochs 10 --threads 1
    .venv/bin/python scripts/reference.py --model m.pt --data d.safetensors --loss cross-entropy

With --model the model is torch.jit.load(FILE) (on the CPU, then moved to the device) and the data
comes from the safetensors file: `inputs`, `targets` and optionally `eval_inputs`/`eval_targets`
(no eval split, no eval loss). The run is recorded as experiment `torchscript`.

Same weights: the model is built right after torch.manual_seed(seed) (and, for
linear-regression, after the synthetic data's draws), on the CPU, with PyTorch's default init; a
TorchScript model keeps the weights it was saved with. --init copies a state_dict into the
parameters, strictly (every parameter, nothing else; buffers keep their values), as the harness.
Same batches: epoch e visits the samples in torch.randperm(n) order drawn right after
torch.manual_seed(shuffle_seed(seed, e)), shuffle_seed = (seed * 1_000_003 + e) mod 2**64.
Same arithmetic: optimizers run with foreach=False (the single-tensor code the harness mirrors).
Same weighting: each batch's mean counts for the number of elements it is over — its samples, or
for cross-entropy/nll its targets that are not ignore_index, weighted by their class weights —
summed per sample once (`Criterion.sample_counts`) and per batch left to right in float64, so the
epoch loss is the one-shot mean over the dataset. With `accumulate` N the optimizer steps every N
batches, each batch's loss scaled by its count over its window's before backward.

With `--nproc N` (config key `nproc`) N processes on 127.0.0.1 compute the same, sharding every
global batch (scripts/distributed.py); this process is rank 0 and alone writes the run directory.
"""
import argparse
import fnmatch
import json
import math
import os
import sys
import time

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch.optim import lr_scheduler
from torch.utils.data import DataLoader, Sampler, TensorDataset

# Its siblings (experiments.py, trace.py), also when it is run through runpy from elsewhere.
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import distributed
from distributed import total
from experiments import EXPERIMENTS, Net, load_data, make_net  # noqa: F401 (Net: for tests)
from trace import Tracer

CRITERIA = {
    "mse": F.mse_loss,
    "l1": F.l1_loss,
    "smooth-l1": F.smooth_l1_loss,
    "huber": F.huber_loss,
    "cross-entropy": F.cross_entropy,
    "nll": F.nll_loss,
    "bce-with-logits": F.binary_cross_entropy_with_logits,
}


def shuffle_seed(seed, epoch):
    return (seed * 1_000_003 + epoch) % 2**64


class EpochShuffle(Sampler):
    """Epoch e's order: torch.manual_seed(shuffle_seed(seed, e)); torch.randperm(n)."""

    def __init__(self, n, seed):
        self.n, self.seed, self.epoch = n, seed, 1

    def __len__(self):
        return self.n

    def __iter__(self):
        torch.manual_seed(shuffle_seed(self.seed, self.epoch))
        self.order = torch.randperm(self.n).tolist()  # kept for --trace
        return iter(self.order)


def model_state(model, with_buffers):
    """What --init loads and model.safetensors holds: the parameters and, for a built-in model,
    its buffers (batch-norm statistics), as the harness's state_dict; a TorchScript model's
    parameters only (the harness trains those and leaves its buffers inside the module)."""
    state = dict(model.named_parameters())
    if with_buffers:
        state.update(model.named_buffers())
    return state


def load_init(model, path, with_buffers):
    """--init: copies a state_dict into the model, strictly like the harness: every entry of
    `model_state`, nothing else, with the same shapes and dtypes."""
    given = load_file(path)
    state = model_state(model, with_buffers)
    problems = []
    missing = [k for k in sorted(state) if k not in given]
    unexpected = [k for k in sorted(given) if k not in state]
    mismatched = [k for k in sorted(state) if k in given
                  and (given[k].shape != state[k].shape or given[k].dtype != state[k].dtype)]
    for what, keys in [("missing keys", missing), ("unexpected keys", unexpected),
                       ("shape/dtype mismatch", mismatched)]:
        if keys:
            problems.append(f"{what}: {', '.join(keys)}")
    if problems:
        raise SystemExit(f"error: {path}: state_dict does not fit the model: {'; '.join(problems)}")
    with torch.no_grad():
        for name, t in state.items():
            t.copy_(given[name])


CLASS_LOSSES = ("cross-entropy", "nll")


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


class Seams:
    """What happens around optimizer.step(), as in the harness: gradient clipping before it, a
    per-batch scheduler after it, and the rate and largest pre-clip norm each epoch records."""

    def __init__(self, cfg, model, optimizer):
        self.model, self.optimizer = model, optimizer
        self.clip_norm, self.clip_value = cfg.get("clip_grad_norm"), cfg.get("clip_grad_value")
        norm_type = cfg.get("clip_norm_type", 2.0)
        self.norm_type = math.inf if norm_type == "inf" else norm_type
        self.scheduler = None if cfg.get("scheduler") is None else Schedulers(cfg["scheduler"], optimizer)
        self.per_batch = cfg.get("scheduler_interval", "epoch") == "batch"
        self.accumulate = cfg.get("accumulate", 1)
        self.lr, self.largest_norm = None, None

    def step(self):
        if self.clip_norm is not None:
            norm = float(torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.clip_norm,
                                                        self.norm_type))
            self.largest_norm = norm if self.largest_norm is None else max(self.largest_norm, norm)
        if self.clip_value is not None:
            torch.nn.utils.clip_grad_value_(self.model.parameters(), self.clip_value)
        self.lr = self.optimizer.param_groups[0]["lr"]
        self.optimizer.step()
        if self.scheduler is not None and self.per_batch:
            self.scheduler.step()

    def end_epoch(self, train_loss, eval_loss):
        """Steps a per-epoch scheduler (ReduceLROnPlateau on the eval loss, else the train loss);
        returns the epoch's rate and largest pre-clip norm."""
        if self.scheduler is not None and not self.per_batch:
            if isinstance(self.scheduler.parts[0], lr_scheduler.ReduceLROnPlateau):
                self.scheduler.step(eval_loss if eval_loss is not None else train_loss)
            else:
                self.scheduler.step()
        values, self.largest_norm = (self.lr, self.largest_norm), None
        return values


def train(model, device, loader, seams, criterion, trace=None):
    """One epoch; `trace` is (Tracer, epoch, EpochShuffle or None) for --trace, or None."""
    model.train()
    total_loss = 0.0
    total_count = 0.0
    samples = 0
    # Each batch's count, known before its accumulation window starts (sample order is drawn
    # when the loader starts, so listing it first draws nothing else).
    batches = [(inputs, targets, total(counts.tolist())) for inputs, targets, counts in loader]
    for start in range(0, len(batches), seams.accumulate):
        window = batches[start:start + seams.accumulate]  # the last one may be shorter
        window_count = total(count for _, _, count in window)
        seams.optimizer.zero_grad()
        trained, losses = 0, []
        for inputs, targets, count in window:
            samples += inputs.size(0)
            if count == 0:
                continue  # every target ignored: PyTorch's mean is NaN; nothing to learn or add
            outputs = model(inputs)
            _loss = criterion(outputs, targets)  # batch mean
            if seams.accumulate > 1:
                (_loss * (count / window_count)).backward()  # its share of the window's mean
            else:
                _loss.backward()
            trained += 1
            losses.append(_loss.item())
            total_loss += _loss.item() * count  # batch sum (count: the seed's batch_size)
            total_count += count
        if trained:
            seams.step()  # clipping, optimizer.step(), a per-batch scheduler
            if trace is not None:
                tracer, epoch, sampler = trace  # the order is drawn by now (batches listed)
                order = sampler.order if sampler is not None else range(len(loader.dataset))
                size = loader.batch_size
                indices = order[start * size:(start + len(window)) * size]
                tracer.step(model, losses, indices, epoch, start + len(window))
    average_loss = total_loss / total_count  # NOT / len(loader)
    return average_loss, samples, len(batches), total_count


def test(model, device, loader, criterion):
    model.eval()
    total_loss = 0.0
    total_count = 0.0
    correct, counted = 0, 0
    with torch.no_grad():
        for inputs, targets, counts in loader:
            count = total(counts.tolist())
            outputs = model(inputs)
            if count > 0:
                total_loss += criterion(outputs, targets).item() * count
                total_count += count
            right = criterion.correct(outputs, targets)
            if right is not None:
                correct, counted = correct + right[0], counted + right[1]
    accuracy = correct / counted if counted else None
    return total_loss / total_count, accuracy, total_count


# The harness's optimizer names (config.json's "kind") and the torch.optim classes they run.
OPTIMIZERS = {name.lower(): getattr(torch.optim, name) for name in
              ["SGD", "Adam", "AdamW", "Adadelta", "Adafactor", "Adagrad", "Adamax", "ASGD", "Muon",
               "NAdam", "RAdam", "RMSprop", "Rprop"]}


def keywords(spec):
    """`{"kind": ..., keywords...}`'s keywords: torch.optim's own names and values (lists become
    tuples: `betas`)."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in spec.items() if k != "kind"}


def make_optimizer(spec, params):
    """The configuration's optimizer over `params` (a list of parameters or of param groups),
    running its single-tensor code (Muon has only that and takes no `foreach`)."""
    cls = OPTIMIZERS[spec["kind"]]
    single_tensor = {} if cls is torch.optim.Muon else {"foreach": False}
    return cls(params, **single_tensor, **keywords(spec))


def selects(select, name, param):
    """`--param-group`'s selection: `ndim=N`, or state_dict-name patterns `*.bias|*norm*`."""
    if select.startswith("ndim="):
        return param.dim() == int(select[len("ndim="):])
    return any(fnmatch.fnmatchcase(name, pattern.strip()) for pattern in select.split("|"))


class Optimizers:
    """The main optimizer and the `param_groups` of the configuration: one torch optimizer with
    param groups when they share a class (group 0 first, then the groups in order), else one
    optimizer each (Muon for matrices, AdamW for the rest), stepped together."""

    def __init__(self, cfg, model):
        groups = cfg.get("param_groups") or []
        members = [[] for _ in range(len(groups) + 1)]
        for name, param in model.named_parameters():
            at = next((i + 1 for i, g in enumerate(groups) if selects(g["params"], name, param)), 0)
            members[at].append(param)
        pairs = [(spec, ps) for spec, ps in zip([cfg["optimizer"]] + [g["optimizer"] for g in groups],
                                                 members) if ps]
        if len({spec["kind"] for spec, _ in pairs}) == 1:
            # The main optimizer's keywords go to the constructor as well: some are read there
            # only (Adagrad's initial_accumulator_value fills its state at construction).
            param_groups = [{"params": ps, **keywords(spec)} for spec, ps in pairs]
            self.parts = [make_optimizer(pairs[0][0], param_groups)]
        else:
            self.parts = [make_optimizer(spec, ps) for spec, ps in pairs]

    @property
    def param_groups(self):
        return [g for part in self.parts for g in part.param_groups]

    def zero_grad(self):
        for part in self.parts:
            part.zero_grad()

    def step(self):
        for part in self.parts:
            part.step()


class Schedulers:
    """One scheduler per torch optimizer of `Optimizers`, stepped together."""

    def __init__(self, spec, optimizers):
        self.parts = [make_scheduler(spec, part) for part in optimizers.parts]

    def step(self, *metric):
        for part in self.parts:
            part.step(*metric)


def make_scheduler(spec, optimizer):
    """`--scheduler`'s PyTorch spelling, `StepLR(step_size=1, gamma=0.7)`, evaluated as Python
    with the optimizer put into every scheduler call (nested ones in SequentialLR too)."""
    if spec is None:
        return None
    ns = {name: (lambda cls: lambda **kw: cls(optimizer, **kw))(getattr(lr_scheduler, name))
          for name in lr_scheduler.__all__}
    ns["ChainedScheduler"] = lambda **kw: lr_scheduler.ChainedScheduler(optimizer=optimizer, **kw)
    ns.update(inf=math.inf, nan=math.nan)
    return eval(spec, {"__builtins__": {}}, ns)


def resolve_device(name):
    if name == "auto":
        return torch.device("cuda:0" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(f"error: --device {name}: CUDA is not available")
    return torch.device("cuda:0" if name == "cuda" else name)


# Every key of the harness's configuration. The last three change how the harness runs (its
# checkpoints, its NaN policy, when it reads the loss from the device), not what it computes.
CONFIG_KEYS = {"experiment", "epochs", "batch_size", "optimizer", "seed", "device", "threads",
               "shuffle", "init", "model", "data", "loss", "param_groups", "scheduler",
               "scheduler_interval", "clip_grad_norm", "clip_norm_type", "clip_grad_value",
               "accumulate", "ignore_index", "class_weights", "pos_weight", "label_smoothing",
               "checkpoint_every", "on_nonfinite", "loss_sync", "trace", "nproc"}


def config_from_flags(args):
    """The standalone flags as the harness's configuration (`tch-harness train`'s defaults)."""
    if args.optimizer == "sgd":
        optimizer = {"kind": "sgd", "lr": args.lr, "momentum": args.momentum,
                     "dampening": args.dampening, "weight_decay": args.weight_decay or 0.0,
                     "nesterov": args.nesterov}
    else:
        decay = args.weight_decay if args.weight_decay is not None else \
            (0.01 if args.optimizer == "adamw" else 0.0)
        optimizer = {"kind": args.optimizer, "lr": args.lr, "betas": [args.beta1, args.beta2],
                     "eps": args.eps, "weight_decay": decay, "amsgrad": args.amsgrad}
    experiment = "torchscript" if args.model is not None else (args.experiment or "digits-mlp")
    return {"experiment": experiment, "epochs": args.epochs, "batch_size": args.batch_size,
            "optimizer": optimizer, "seed": args.seed, "device": args.device,
            "threads": args.threads, "shuffle": not args.no_shuffle, "init": args.init,
            "model": args.model, "data": args.data, "loss": args.loss,
            "scheduler": args.scheduler, "scheduler_interval": args.scheduler_interval,
            "clip_grad_norm": args.clip_grad_norm, "clip_norm_type": args.clip_norm_type,
            "clip_grad_value": args.clip_grad_value, "accumulate": args.accumulate,
            "ignore_index": args.ignore_index, "class_weights": args.class_weights,
            "pos_weight": args.pos_weight, "label_smoothing": args.label_smoothing,
            "trace": args.trace}


def read_config(path):
    """The configuration in a JSON file: `{"config": {...}}` (a run's config.json) or the bare
    object. A key this script does not know is an error: it would otherwise be ignored here and
    the two sides would train differently."""
    with open(path) as f:
        value = json.load(f)
    config = value.get("config", value) if isinstance(value, dict) else None
    if not isinstance(config, dict):
        raise SystemExit(f"error: {path}: not a tch-harness configuration")
    unknown = sorted(set(config) - CONFIG_KEYS)
    if unknown:
        raise SystemExit(f"error: {path}: reference.py does not know the configuration key(s) "
                         f"{', '.join(unknown)}")
    if config["optimizer"]["kind"] not in OPTIMIZERS:
        raise SystemExit(f"error: {path}: reference.py has no optimizer "
                         f"'{config['optimizer']['kind']}'")
    return config


def main():
    parser = argparse.ArgumentParser(description="PyTorch reference for tch-harness")
    parser.add_argument("--config", default=None,
                        help="train from this configuration (a run's config.json); no other "
                             "training flag may be given (default: the flags below)")
    parser.add_argument("--experiment", default=None, choices=sorted(EXPERIMENTS),
                        help="built-in experiment (default: digits-mlp)")
    parser.add_argument("--model", default=None, help="your own model: a TorchScript file (needs --data, --loss)")
    parser.add_argument("--data", default=None, help="data for --model: safetensors (inputs, targets, eval_*)")
    parser.add_argument("--loss", default=None, choices=list(CRITERIA),
                        help="criterion (required with --model; replaces a built-in experiment's own)")
    parser.add_argument("--epochs", type=int, default=10, help="number of epochs (default: 10)")
    parser.add_argument("--batch-size", type=int, default=64, help="samples per batch (default: 64)")
    parser.add_argument("--lr", type=float, default=0.05, help="learning rate (default: 0.05)")
    parser.add_argument("--optimizer", default="sgd", choices=sorted(OPTIMIZERS), help="(default: sgd)")
    parser.add_argument("--momentum", type=float, default=0.0, help="SGD momentum (default: 0)")
    parser.add_argument("--dampening", type=float, default=0.0, help="SGD dampening (default: 0)")
    parser.add_argument("--nesterov", action="store_true", help="SGD Nesterov momentum (default: off)")
    parser.add_argument("--weight-decay", type=float, default=None,
                        help="weight decay (default: 0.01 for adamw, 0 otherwise)")
    parser.add_argument("--beta1", type=float, default=0.9, help="Adam beta1 (default: 0.9)")
    parser.add_argument("--beta2", type=float, default=0.999, help="Adam beta2 (default: 0.999)")
    parser.add_argument("--eps", type=float, default=1e-8, help="Adam epsilon (default: 1e-8)")
    parser.add_argument("--amsgrad", action="store_true", help="Adam AMSGrad (default: off)")
    parser.add_argument("--seed", type=int, default=0, help="seed (default: 0)")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or cuda:N (default: auto)")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    parser.add_argument("--out", default=None, help="run directory (default: runs/<experiment>-<time>-py)")
    parser.add_argument("--init", default=None, help="initial state_dict, safetensors (default: none)")
    parser.add_argument("--no-shuffle", action="store_true", help="keep the stored order (default: shuffle)")
    parser.add_argument("--scheduler", default=None,
                        help="a torch.optim.lr_scheduler, e.g. 'StepLR(step_size=1, gamma=0.7)' (default: none)")
    parser.add_argument("--scheduler-interval", default="epoch", choices=["epoch", "batch"],
                        help="step the scheduler after each epoch or each batch (default: epoch)")
    parser.add_argument("--clip-grad-norm", type=float, default=None,
                        help="clip_grad_norm_ to this max norm before each step (default: none)")
    parser.add_argument("--clip-norm-type", type=float, default=2.0, help="its norm (default: 2)")
    parser.add_argument("--clip-grad-value", type=float, default=None,
                        help="clip_grad_value_ to this value before each step (default: none)")
    floats = lambda text: [float(v) for v in text.split(",")]
    parser.add_argument("--accumulate", type=int, default=1,
                        help="step the optimizer every N batches (default: 1)")
    parser.add_argument("--ignore-index", type=int, default=None,
                        help="cross-entropy/nll ignore_index (default: PyTorch's -100)")
    parser.add_argument("--class-weights", type=floats, default=None,
                        help="cross-entropy/nll weight=, comma-separated (default: none)")
    parser.add_argument("--pos-weight", type=floats, default=None,
                        help="bce-with-logits pos_weight=, comma-separated (default: none)")
    parser.add_argument("--label-smoothing", type=float, default=None,
                        help="cross-entropy label_smoothing= (default: none)")
    parser.add_argument("--trace", action="store_true",
                        help="write trace.jsonl (scripts/trace.py) for `tch-harness diff` (default: off)")
    parser.add_argument("--nproc", type=int, default=None,
                        help="processes on 127.0.0.1 (gloo), each a shard of every batch; also "
                             "with --config, over its `nproc` (default: the config's, else 1)")
    args = parser.parse_args()
    if args.nproc is not None and args.nproc < 1:
        parser.error(f"--nproc {args.nproc}: needs at least 1 process")
    if args.config is not None:
        given = [a for a in vars(args) if a not in ("config", "out", "nproc")
                 and getattr(args, a) != parser.get_default(a)]
        if given:
            parser.error(f"--config takes every setting from the file; remove --{', --'.join(given)}")
        cfg = read_config(args.config)
    else:
        if (args.model is None) != (args.data is None) or (args.model is not None and args.loss is None):
            parser.error("--model needs --data and --loss, and --data needs --model")
        if args.model is not None and args.experiment is not None:
            parser.error("--model cannot be used with --experiment")
        cfg = config_from_flags(args)
    if args.nproc is not None:
        cfg["nproc"] = args.nproc  # only when given: config.json stays as the harness wrote it
    if cfg.get("nproc", 1) > 1:
        distributed.run(cfg, args.out, train_from, os.path.abspath(__file__))
    else:
        train_from(cfg, args.out)


def train_from(cfg, out, group=None):
    """Trains the configuration `cfg` (the harness's `config`) into the run directory `out`, as
    one rank of `group` (distributed.Group) or alone (None)."""
    lead = group is None or group.rank == 0  # writes the run directory and prints
    if cfg["threads"] is not None or group is not None:
        torch.set_num_threads(cfg["threads"] or 1)  # a rank runs one thread unless told
    device = resolve_device(cfg["device"])
    experiment, model_file = cfg["experiment"], cfg["model"]
    loss_name = cfg["loss"] or EXPERIMENTS[experiment]["loss"]
    criterion = Criterion(loss_name, cfg, device)

    torch.manual_seed(cfg["seed"])
    x_train, y_train, x_eval, y_eval = load_data(experiment, cfg["data"])
    if model_file is not None:
        # The harness runs TorchScript from C++ the way eager PyTorch computes it; Python's graph
        # executor would differentiate its optimized graph instead, whose gradients differ in the
        # last bits (nn.Linear on [N, T, ...] inputs). Same gradients: no executor optimization.
        torch._C._set_graph_executor_optimize(False)
        model = torch.jit.load(model_file, map_location="cpu")
    else:
        model = make_net(experiment)
    if cfg["init"]:
        load_init(model, cfg["init"], model_file is None)
    model = model.to(device)
    if group is not None:
        group.broadcast(list(model.parameters()) + list(model.buffers()))  # as DDP starts
    # Each sample's count rides along (on the CPU) with its inputs and targets.
    train_set = TensorDataset(x_train.to(device), y_train.to(device), criterion.sample_counts(y_train))
    eval_set = None if x_eval is None else \
        TensorDataset(x_eval.to(device), y_eval.to(device), criterion.sample_counts(y_eval))
    sampler = EpochShuffle(len(train_set), cfg["seed"]) if cfg["shuffle"] else None
    # Private generators keep the loaders' worker-seed draws off the global RNG.
    batch_size = cfg["batch_size"]
    train_loader = DataLoader(train_set, batch_size=batch_size, sampler=sampler, generator=torch.Generator())
    eval_loader = None if eval_set is None else DataLoader(eval_set, batch_size=batch_size,
                                                           generator=torch.Generator())
    optimizer = Optimizers(cfg, model)
    seams = Seams(cfg, model, optimizer)

    out = out or os.path.join("runs", f"{experiment}-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}-py")
    if lead:
        os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "config.json") if lead else os.devnull, "w") as f:
        json.dump({"config": cfg, "device": str(device), "threads": torch.get_num_threads(),
                   "torch_version": torch.__version__, "train_samples": len(train_set),
                   "eval_samples": None if eval_set is None else len(eval_set)}, f, indent=2)
    epochs = cfg["epochs"]
    tracer = Tracer(os.path.join(out, "trace.jsonl"), buffers=model_file is None) if cfg.get("trace") else None
    if tracer is not None:
        tracer.start(model)
    with open(os.path.join(out, "metrics.jsonl") if lead else os.devnull, "w") as metrics:
        run_started = time.perf_counter()
        for epoch in range(1, epochs + 1):
            started = time.perf_counter()
            if sampler is not None:
                sampler.epoch = epoch
            trace = None if tracer is None else (tracer, epoch, sampler)
            if group is None:
                train_loss, samples, batches, train_count = train(model, device, train_loader, seams,
                                                                  criterion, trace)
            else:
                train_loss, samples, batches, train_count = distributed.train(
                    model, train_loader, seams, criterion, group, epoch)
                group.check_same(list(model.parameters()), epoch)
                # Rank 0's buffers (batch-norm statistics, each rank's own so far) for all, as
                # DDP's broadcast_buffers: every rank evaluates the model rank 0 saves.
                group.broadcast(list(model.buffers()))
            train_seconds = time.perf_counter() - started
            eval_loss, eval_accuracy, eval_count = None, None, None
            if eval_loader is not None:
                eval_loss, eval_accuracy, eval_count = test(model, device, eval_loader, criterion) \
                    if group is None else distributed.test(model, eval_loader, criterion, group)
            lr, grad_norm_max = seams.end_epoch(train_loss, eval_loss)
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
            if grad_norm_max is not None:
                record["grad_norm_max"] = grad_norm_max
            metrics.write(json.dumps(record) + "\n")
            metrics.flush()
            if lead:
                print(f"epoch {epoch:>3}/{epochs}  train_loss {train_loss:.6f}"
                      + (f"  eval_loss {eval_loss:.6f}" if eval_loss is not None else "")
                      + (f"  eval_acc {eval_accuracy * 100:.2f}%" if eval_accuracy is not None else "")
                      + f"  samples {samples}  batches {batches}  {record['seconds']:.3f}s", flush=True)
    if tracer is not None:
        tracer.close()
    if not lead:
        return
    # The state_dict, as the harness saves it; a TorchScript model also as model.pt, in eval mode.
    save_file({k: v.detach().cpu().contiguous() for k, v in model_state(model, model_file is None).items()},
              os.path.join(out, "model.safetensors"))
    if model_file is not None:
        model.eval()
        model.save(os.path.join(out, "model.pt"))


if __name__ == "__main__":
    main()
