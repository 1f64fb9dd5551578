"""trace.jsonl for your own PyTorch loop (`sys.path.insert(0, "scripts"); from trace import
Tracer`): scripts/torchref/trace.py, where the format is described."""
from torchref.trace import Tracer, fingerprint, hash_bytes  # noqa: F401
