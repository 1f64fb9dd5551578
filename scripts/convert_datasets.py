"""Converts the two real datasets that scikit-learn ships into data/*.safetensors, once.

The converted files are committed (small), so neither the harness nor its tests need scikit-learn.
Run again with:  .venv/bin/pip install scikit-learn && .venv/bin/python scripts/convert_datasets.py

Each file holds float32 `inputs`, `targets` (training split) and `eval_inputs`, `eval_targets`
(held-out split). The split is fixed: sklearn.model_selection.train_test_split(test_size=0.25,
random_state=0, stratify=labels).

- digits.safetensors: the 8x8 handwritten digits (1,797 samples, 10 classes). Pixels 0..16 are
  divided by 16. Targets are int64 class indices. Split: 1,347 train / 450 eval.
- breast_cancer.safetensors: Wisconsin diagnostic breast cancer (569 samples, 30 features, binary).
  Features are standardised with the training split's mean and std (computed in float64). Targets
  are float32 of shape [N, 1] (1 = benign), for BCE-with-logits. Split: 426 train / 143 eval.
"""
import os

import numpy as np
import torch
from safetensors.torch import save_file
from sklearn.datasets import load_breast_cancer, load_digits
from sklearn.model_selection import train_test_split

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data")


def split(x, y):
    return train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)


def save(name, x_train, x_eval, y_train, y_eval, source):
    path = os.path.join(OUT, name)
    save_file(
        {
            "inputs": torch.from_numpy(np.ascontiguousarray(x_train)),
            "targets": torch.from_numpy(np.ascontiguousarray(y_train)),
            "eval_inputs": torch.from_numpy(np.ascontiguousarray(x_eval)),
            "eval_targets": torch.from_numpy(np.ascontiguousarray(y_eval)),
        },
        path,
        metadata={"source": source, "split": "train_test_split(test_size=0.25, random_state=0, stratify=y)"},
    )
    os.chmod(path, 0o644)
    print(f"{path}: train {len(x_train)}, eval {len(x_eval)}")


def main():
    digits = load_digits()
    x, y = (digits.data / 16.0).astype(np.float32), digits.target.astype(np.int64)
    save("digits.safetensors", *split(x, y), "sklearn.datasets.load_digits")

    cancer = load_breast_cancer()
    x_train, x_eval, y_train, y_eval = split(cancer.data, cancer.target)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    standardise = lambda a: ((a - mean) / std).astype(np.float32)  # noqa: E731
    labels = lambda a: a.astype(np.float32).reshape(-1, 1)  # noqa: E731
    save(
        "breast_cancer.safetensors",
        standardise(x_train), standardise(x_eval), labels(y_train), labels(y_eval),
        "sklearn.datasets.load_breast_cancer",
    )


if __name__ == "__main__":
    main()
