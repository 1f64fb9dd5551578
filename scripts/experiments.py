"""The built-in experiments' models and data, for scripts that import them from here
(`sys.path.insert(0, "scripts"); from experiments import make_net`): scripts/torchref/experiments.py."""
from torchref.experiments import (  # noqa: F401
    DATA_DIR, EXPERIMENTS, WORD_TOKENS, DigitsCnn, Net, WordGru, load_data, make_net, synthetic_regression)
