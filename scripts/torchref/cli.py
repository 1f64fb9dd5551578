"""The standalone flags — for running the reference by hand — and `--config FILE`, turned into the
harness's configuration; the harness's `cli/`. Each flag has `tch-harness train`'s name, and its
default is config.DEFAULTS's (or, for an optimizer keyword, torch.optim's), stated in its help."""
import argparse

from .config import DEFAULTS, defaults, optimizer_config, read_config
from .criterion import CRITERIA
from .experiments import EXPERIMENTS
from .optim import OPTIMIZERS


def show(value):
    return "none" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


floats = lambda text: [float(v) for v in text.split(",")]


def boolish(text):
    """An on/off flag's value, as the harness's: true/false, on/off, yes/no, 1/0."""
    value = {"true": True, "on": True, "yes": True, "y": True, "t": True, "1": True,
             "false": False, "off": False, "no": False, "n": False, "f": False, "0": False}.get(text.lower())
    if value is None:
        raise argparse.ArgumentTypeError(f"expected true or false, got '{text}'")
    return value


switch = dict(nargs="?", const=True, type=boolish, metavar="BOOL")

# (flag, config key, argparse keywords, help): the flag sets the key; absent, the key keeps
# DEFAULTS' value, which the help states unless it says more itself.
def on_off(value):
    """An on|off flag as a boolean."""
    if value not in ("on", "off"):
        raise argparse.ArgumentTypeError(f"must be on or off, got '{value}'")
    return value == "on"


SETTINGS = [
    ("--experiment", "experiment", dict(choices=sorted(EXPERIMENTS)), "built-in experiment"),
    ("--model", "model", {}, "your own model: a TorchScript file (needs --data, --loss)"),
    ("--data", "data", {}, "data for --model: safetensors (inputs, targets, eval_*)"),
    ("--loss", "loss", dict(choices=list(CRITERIA)),
     "criterion (required with --model; replaces a built-in experiment's own)"),
    ("--epochs", "epochs", dict(type=int), "number of epochs"),
    ("--batch-size", "batch_size", dict(type=int), "samples per batch"),
    ("--seed", "seed", dict(type=int), "seed"),
    ("--device", "device", {}, "auto, cpu, cuda or cuda:N"),
    ("--threads", "threads", dict(type=int), "torch threads (default: torch's choice)"),
    ("--init", "init", {}, "initial state_dict: safetensors, or a torch.save file (.pt/.pth)"),
    ("--init-key", "init_key", {}, "the entry of a torch.save checkpoint dict that --init loads"),
    ("--save-format", "save_format", dict(choices=["safetensors", "pt"]),
     "final weights: model.safetensors, and with pt also model.pth"),
    ("--scheduler", "scheduler", {},
     "a torch.optim.lr_scheduler, e.g. 'StepLR(step_size=1, gamma=0.7)'"),
    ("--scheduler-interval", "scheduler_interval", dict(choices=["epoch", "batch"]),
     "step the scheduler after each epoch or each batch"),
    ("--clip-grad-norm", "clip_grad_norm", dict(type=float),
     "clip_grad_norm_ to this max norm before each step"),
    ("--clip-norm-type", "clip_norm_type", dict(type=float), "its norm"),
    ("--clip-grad-value", "clip_grad_value", dict(type=float),
     "clip_grad_value_ to this value before each step"),
    ("--accumulate", "accumulate", dict(type=int), "step the optimizer every N batches"),
    ("--grad-scaler", "grad_scaler", {},
     "torch.amp.GradScaler's options, e.g. 'GradScaler(init_scale=1024.0)'"),
    ("--precision", "precision", dict(choices=["32", "bf16-mixed", "16-mixed"]),
     "forward + loss under torch.autocast: 32 (off), bf16-mixed or 16-mixed"),
    ("--ignore-index", "ignore_index", dict(type=int),
     "cross-entropy/nll ignore_index (default: PyTorch's -100)"),
    ("--class-weights", "class_weights", dict(type=floats),
     "cross-entropy/nll weight=, comma-separated"),
    ("--pos-weight", "pos_weight", dict(type=floats), "bce-with-logits pos_weight=, comma-separated"),
    ("--label-smoothing", "label_smoothing", dict(type=float), "cross-entropy label_smoothing="),
    ("--metrics", "metrics", dict(type=lambda s: [n.strip() for n in s.split(",") if n.strip()]),
     "eval metrics, comma-separated: top{k}_accuracy, micro_/macro_precision, _recall, _f1, perplexity"),
    ("--sync-batchnorm", "sync_batchnorm", dict(type=on_off, metavar="on|off"),
     "with --nproc > 1: batch norm over every process's rows (nn.SyncBatchNorm), or each's own (default: on)"),
    ("--bucket-cap-mb", "bucket_cap_mb", dict(type=float, metavar="MB"),
     "with --nproc > 1: gradient buckets of this many MiB, DDP's bucket_cap_mb (default: DDP's, 1 MiB then 25)"),
    ("--trace", "trace", dict(action="store_true", default=None),
     "write trace.jsonl (torchref/trace.py) for `tch-harness diff`"),
    ("--deterministic", "deterministic", switch,
     "cudnn.deterministic, benchmark off, use_deterministic_algorithms(True), "
     "CUBLAS_WORKSPACE_CONFIG=:4096:8 unless set (default: on with --trace, else off)"),
    ("--cudnn-benchmark", "cudnn_benchmark", switch, "torch.backends.cudnn.benchmark"),
    ("--cudnn-allow-tf32", "cudnn_allow_tf32", switch, "torch.backends.cudnn.allow_tf32"),
    ("--float32-matmul-precision", "float32_matmul_precision",
     dict(choices=["highest", "high", "medium"]), "torch.set_float32_matmul_precision"),
]

# The optimizer's keyword flags: (flag, keyword, argparse keywords, help). A flag not given leaves
# the optimizer's own default (--eps is Adam's 1e-8, not Adadelta's 1e-6); one given for an
# optimizer without that keyword is an error, as in the harness.
KEYWORD_FLAGS = [
    ("--momentum", "momentum", dict(type=float), "SGD momentum"),
    ("--dampening", "dampening", dict(type=float), "SGD dampening"),
    ("--nesterov", "nesterov", dict(action="store_true", default=None), "SGD Nesterov momentum"),
    ("--weight-decay", "weight_decay", dict(type=float), "weight decay"),
    ("--beta1", "betas", dict(type=float), "Adam beta1"),
    ("--beta2", "betas", dict(type=float), "Adam beta2"),
    ("--eps", "eps", dict(type=float), "Adam epsilon"),
    ("--amsgrad", "amsgrad", dict(action="store_true", default=None), "Adam AMSGrad"),
]


def dest(flag):
    return flag[2:].replace("-", "_")


def parser():
    p = argparse.ArgumentParser(description="PyTorch reference for tch-harness")
    p.add_argument("--config", help="train from this configuration (a run's config.json); no other "
                                    "training flag may be given (default: the flags below)")
    for flag, key, kwargs, text in SETTINGS:
        stated = "" if "default:" in text else f" (default: {show(DEFAULTS[key])})"
        p.add_argument(flag, **kwargs, help=text + stated)
    p.add_argument("--no-shuffle", action="store_true", default=None,
                   help="keep the stored order (default: shuffle)")
    optimizer = DEFAULTS["optimizer"]
    p.add_argument("--optimizer", choices=sorted(OPTIMIZERS), help=f"(default: {optimizer['kind']})")
    p.add_argument("--lr", type=float, help=f"learning rate (default: {optimizer['lr']})")
    for flag, _, kwargs, text in KEYWORD_FLAGS:
        p.add_argument(flag, **kwargs, help=f"{text} (default: torch.optim's)")
    p.add_argument("--out", help="run directory (default: runs/<experiment>-<time>-py)")
    p.add_argument("--nproc", type=int,
                   help="processes on 127.0.0.1 (gloo), each a shard of every batch; also with "
                        "--config, over its `nproc` (default: the config's, else 1)")
    return p


def config_from_flags(args):
    """The standalone flags as the harness's configuration: DEFAULTS, with each flag given."""
    cfg = defaults()
    for flag, key, _, _ in SETTINGS:
        if getattr(args, dest(flag)) is not None:
            cfg[key] = getattr(args, dest(flag))
    if args.model is not None:
        cfg["experiment"] = "torchscript"
    if args.no_shuffle:
        cfg["shuffle"] = False
    if args.deterministic is None:
        cfg["deterministic"] = bool(cfg["trace"])
    kind = args.optimizer or cfg["optimizer"]["kind"]
    lr = args.lr if args.lr is not None else cfg["optimizer"]["lr"]
    spec = optimizer_config(kind, lr)
    for flag, key, _, _ in KEYWORD_FLAGS:
        value = getattr(args, dest(flag))
        if value is None:
            continue
        if key not in spec:
            raise SystemExit(f"error: {flag} does not apply to --optimizer {kind}")
        if key == "betas":  # only the beta given changes
            spec[key] = list(spec[key])
            spec[key][flag == "--beta2"] = value
        else:
            spec[key] = value
    cfg["optimizer"] = spec
    return cfg


def parse(argv=None):
    """(configuration, --out, --nproc) from the command line."""
    p = parser()
    args = p.parse_args(argv)
    if args.nproc is not None and args.nproc < 1:
        p.error(f"--nproc {args.nproc}: needs at least 1 process")
    if args.config is not None:
        given = [a for a, v in vars(args).items() if a not in ("config", "out", "nproc") and v is not None]
        if given:
            p.error(f"--config takes every setting from the file; remove --{', --'.join(given)}")
        cfg = read_config(args.config)
    else:
        if (args.model is None) != (args.data is None) or (args.model is not None and args.loss is None):
            p.error("--model needs --data and --loss, and --data needs --model")
        if args.model is not None and args.experiment is not None:
            p.error("--model cannot be used with --experiment")
        cfg = config_from_flags(args)
    if args.nproc is not None:
        cfg["nproc"] = args.nproc  # only when given: config.json stays as the harness wrote it
    return cfg, args.out
