"""A stand-in for the `safetensors` package, for machines whose Python has PyTorch and nothing else
(scripts/gpu-check.sh puts scripts/pyshim on PYTHONPATH only when `import safetensors` fails).
It implements the two functions scripts/reference.py uses, `safetensors.torch.load_file` and
`save_file`, for the file format's plain layout; the real package is used wherever it exists."""
