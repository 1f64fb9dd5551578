"""The batches: the harness's epoch order and its DataLoaders, each sample's count riding along
with its inputs and targets — the harness's `data/`.

Same batches: epoch e visits the samples in torch.randperm(n) order drawn right after
torch.manual_seed(shuffle_seed(seed, e)), shuffle_seed = (seed * 1_000_003 + e) mod 2**64; the
short last batch is kept (DataLoader's drop_last=False)."""
import torch
from torch.utils.data import DataLoader, Sampler, TensorDataset


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


def counted_set(inputs, targets, criterion, device):
    """(inputs, targets, count) per sample: the count (criterion.sample_counts) stays on the CPU."""
    return TensorDataset(inputs.to(device), targets.to(device), criterion.sample_counts(targets))


def loader(dataset, batch_size, sampler=None):
    """Batches in the sampler's order (else the stored one); a private generator keeps the
    loader's worker-seed draw off the global RNG."""
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, generator=torch.Generator())
