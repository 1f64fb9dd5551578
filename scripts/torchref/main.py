"""`scripts/reference.py`'s main(): the command line, then one process (a group of one) or, with
`--nproc N`, N of them."""
from . import distributed
from .cli import parse
from .run import train_from


def main(script, argv=None):
    """Trains what the command line says; `script` is the command ranks 1..N-1 run."""
    cfg, out = parse(argv)
    if cfg.get("nproc", 1) > 1:
        distributed.launch(cfg, lambda group: train_from(cfg, out, group), script)
    else:
        train_from(cfg, out, distributed.Group())
