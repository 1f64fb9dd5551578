//! The sample order of each epoch, reproducible on the Python side (see README, "Same batches").
//!
//! Epoch `e` (1-based) of a run with seed `s` visits the samples in the order
//! `torch.manual_seed(shuffle_seed(s, e)); torch.randperm(n)` — drawn on the CPU, whatever the
//! training device. Because the order depends on `(s, e)` only, a resumed run sees the same batches.
use tch::{Device, Kind, Tensor};

/// The libtorch seed for epoch `epoch` of a run seeded with `seed`: `(seed * 1_000_003 + epoch)
/// mod 2^64`. libtorch's CPU generator keeps only the low 32 bits.
pub fn shuffle_seed(seed: u64, epoch: usize) -> u64 {
    seed.wrapping_mul(1_000_003).wrapping_add(epoch as u64)
}

/// A permutation of `0..n` for this epoch, drawn from libtorch's global generator after seeding it
/// (as the reference script's sampler does), on the CPU.
pub fn epoch_order(n: usize, seed: u64, epoch: usize) -> Tensor {
    tch::manual_seed(shuffle_seed(seed, epoch) as i64);
    Tensor::randperm(n as i64, (Kind::Int64, Device::Cpu))
}
