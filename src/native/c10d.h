// The process group handle shared by the c10d shims (c10d.cpp: joining and collectives;
// sync_batch_norm.cpp: SyncBatchNorm's collectives inside autograd).
#pragma once
#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/Store.hpp>

struct TchHarnessGroup {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> backend;
  // The gradient buckets' own connections (buckets.cpp): launched from inside backward, their
  // collectives never interleave with the ones backward itself runs (SyncBatchNorm's).
  c10::intrusive_ptr<c10d::Backend> grads;
};
