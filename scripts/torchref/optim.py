"""The optimizers and schedulers of the configuration, from PyTorch's own classes and spelling —
the harness's `optim/` and `schedule/`: the main optimizer and its param groups, each running its
single-tensor code (foreach=False, what the harness mirrors op for op), and `--scheduler`'s
`StepLR(step_size=1, gamma=0.7)` evaluated against them."""
import fnmatch
import inspect
import math

import torch
from torch.optim import lr_scheduler

# The harness's optimizer names (config.json's "kind") and the torch.optim classes they run.
OPTIMIZERS = {name.lower(): getattr(torch.optim, name) for name in
              ["SGD", "Adam", "AdamW", "Adadelta", "Adafactor", "Adagrad", "Adamax", "ASGD", "Muon",
               "NAdam", "RAdam", "RMSprop", "Rprop"]}

# Keywords that choose an implementation, not what it computes; and those the harness lacks
# (tests/harness/optim_defaults.rs holds it to the same two lists).
SWITCHES = {"foreach", "fused", "capturable", "differentiable"}
NOT_TAKEN = {"adam": {"decoupled_weight_decay"}}


def torch_defaults(kind):
    """`kind`'s keywords with torch.optim's defaults, as config.json spells them (tuples as
    lists): the harness writes the same for an optimizer named without its keywords."""
    params = inspect.signature(OPTIMIZERS[kind].__init__).parameters.values()
    left_out = SWITCHES | NOT_TAKEN.get(kind, set())
    return {p.name: list(p.default) if isinstance(p.default, tuple) else p.default for p in params
            if p.default is not inspect.Parameter.empty and p.name not in left_out}


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

    @property
    def on_plateau(self):
        """ReduceLROnPlateau steps on a metric (the eval loss, else the train loss)."""
        return isinstance(self.parts[0], lr_scheduler.ReduceLROnPlateau)

    def step(self, *metric):
        for part in self.parts:
            part.step(*metric)


def make_scheduler(spec, optimizer):
    """`--scheduler`'s PyTorch spelling, `StepLR(step_size=1, gamma=0.7)`, evaluated as Python
    with the optimizer put into every scheduler call (nested ones in SequentialLR too)."""
    ns = {name: (lambda cls: lambda **kw: cls(optimizer, **kw))(getattr(lr_scheduler, name))
          for name in lr_scheduler.__all__}
    ns["ChainedScheduler"] = lambda **kw: lr_scheduler.ChainedScheduler(optimizer=optimizer, **kw)
    ns.update(inf=math.inf, nan=math.nan)
    return eval(spec, {"__builtins__": {}}, ns)
