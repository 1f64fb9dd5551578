//! Data-parallel training on libtorch's own c10d (Gloo, NCCL), with one process's arithmetic:
//! every rank visits the same global batches of the epoch's permutation and takes its rows of
//! each (`shard`); its loss is scaled by its share of the window's count, the gradients are summed
//! once per window (`grad_sync`), and every tally is summed as (sum, count) at the epoch's end
//! (`tally::Reduce`, implemented by the `group`). The job comes from the torchrun environment
//! (`env`); `train --nproc N` starts one on this machine (`launch`). Batch norm normalises over
//! every rank's rows while a `SyncBatchNorm` scope is open (`sync_batch_norm`).
mod buckets;
mod env;
mod grad_sync;
mod group;
mod launch;
mod parent;
mod step_times;
mod sync_batch_norm;

pub use crate::data::Shard;
pub use buckets::{bucket_assignment, BUCKET_CAP_MB, FIRST_BUCKET_BYTES};
pub use env::{Backend, WorldEnv};
pub use grad_sync::{GradSync, WindowTally};
pub use group::{has_nccl, ProcessGroup, ReduceOp};
pub use launch::{launch, LaunchPlan};
pub use parent::die_with_parent;
pub use sync_batch_norm::{sync_batch_norm, SyncBatchNorm, SyncBatchNormArgs}; // which rows of a batch a rank takes: the data layer's
