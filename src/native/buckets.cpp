// Gradient buckets all-reduced while backward runs, as DDP's Reducer does, with the harness's
// arithmetic: a plain sum (no division by the world size; each rank's loss already carries its
// share), zeros for a gradient a rank lacks, and a tail the caller fills (flags, buffers, tally)
// riding in the last bucket. The Rust side is src/distributed/buckets.rs.
//
// A hook after each parameter's AccumulateGrad marks it ready while armed (the backward pass of
// a window's last micro-batch: DDP's no_sync for the others). A bucket whose parameters are all
// ready is launched, asynchronously, on the group's own gradient backend, but only in bucket
// order, so every rank issues the same collectives in the same order whatever its readiness
// order. `finish` launches what is left (a parameter with no gradient this pass holds its bucket
// back until then) and waits for all of them.
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/function_hook.h>
#include <torch/csrc/autograd/functions/accumulate_grad.h>
#include <torch/csrc/autograd/variable.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "c10d.h"
#include "guard.h"

using tch_harness::guarded;

struct TchHarnessBuckets {
  c10::intrusive_ptr<c10d::Backend> backend;
  std::vector<at::Tensor> params;
  std::vector<std::vector<int64_t>> buckets; // parameter indices, in launch order
  std::vector<int64_t> bucket_of;
  // Held so that each parameter keeps one accumulator (and our hook on it) across passes.
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators;
  std::mutex mutex;
  bool armed = false;
  std::vector<char> ready;
  std::vector<int64_t> missing; // per bucket: parameters not ready yet
  size_t next = 0;              // the next bucket to launch
  at::Tensor tail;              // appended to the last bucket
  std::vector<at::Tensor> flats;
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  int64_t launched_in_backward = 0;

  at::Tensor flat_of(size_t b) {
    std::vector<at::Tensor> parts;
    const auto &bucket = buckets[b];
    for (int64_t i : bucket) {
      const at::Tensor &p = params[i];
      const at::Tensor &g = p.grad();
      parts.push_back(g.defined() ? g.detach().reshape({-1}) : at::zeros({p.numel()}, p.options()));
    }
    if (b + 1 == buckets.size()) {
      // Which parameters this rank has a gradient for: summed, whether any rank has one.
      auto options = params[bucket[0]].options();
      std::vector<double> flags;
      for (const auto &p : params) flags.push_back(p.grad().defined() ? 1.0 : 0.0);
      parts.push_back(at::tensor(flags, options.dtype(at::kDouble)).to(options));
      if (tail.defined()) parts.push_back(tail.to(options));
    }
    return at::cat(parts);
  }

  // Launches every bucket from `next` on whose parameters are all ready (all, when `all`).
  void launch_ready(bool all) {
    while (next < buckets.size() && (all || missing[next] == 0)) {
      std::vector<at::Tensor> one{flat_of(next)};
      flats[next] = one[0];
      c10d::AllreduceOptions options;
      options.reduceOp = c10d::ReduceOp::SUM;
      works[next] = backend->allreduce(one, options);
      if (!all) ++launched_in_backward;
      ++next;
    }
  }

  void mark_ready(int64_t i) {
    std::lock_guard<std::mutex> lock(mutex);
    if (!armed || ready[i]) return;
    ready[i] = 1;
    --missing[bucket_of[i]];
    launch_ready(false);
  }
};

namespace {

struct ReadyHook : torch::autograd::FunctionPostHook {
  TchHarnessBuckets *owner;
  int64_t index;
  ReadyHook(TchHarnessBuckets *owner, int64_t index) : owner(owner), index(index) {}
  torch::autograd::variable_list operator()(const torch::autograd::variable_list &outputs,
                                            const torch::autograd::variable_list &) override {
    owner->mark_ready(index);
    return outputs;
  }
};

} // namespace

extern "C" {

// Buckets over `params` (n tensors) on `group`'s gradient backend: `bucket_sizes` (k numbers)
// says how many of the parameters, in the order of `order` (n indices), each bucket takes.
TchHarnessBuckets *tch_harness_buckets_new(TchHarnessGroup *group, at::Tensor **params, int n,
                                           const long long *order, const long long *bucket_sizes,
                                           int k, char **error) {
  TchHarnessBuckets *out = nullptr;
  guarded(error, [&] {
    auto buckets = std::make_unique<TchHarnessBuckets>();
    buckets->backend = group->grads;
    for (int i = 0; i < n; ++i) buckets->params.push_back(*params[i]);
    buckets->bucket_of.assign(n, -1);
    int at = 0;
    for (int b = 0; b < k; ++b) {
      std::vector<int64_t> bucket;
      for (long long j = 0; j < bucket_sizes[b]; ++j, ++at) {
        if (at >= n || order[at] < 0 || order[at] >= n) throw std::invalid_argument("bad bucket order");
        bucket.push_back(order[at]);
        buckets->bucket_of[order[at]] = b;
      }
      buckets->buckets.push_back(bucket);
    }
    if (at != n) throw std::invalid_argument("the buckets do not hold every parameter once");
    for (int i = 0; i < n; ++i) {
      auto accumulator = torch::autograd::impl::grad_accumulator(buckets->params[i]);
      if (!accumulator) throw std::invalid_argument("a parameter does not require grad");
      accumulator->add_post_hook(std::make_unique<ReadyHook>(buckets.get(), i));
      buckets->accumulators.push_back(accumulator);
    }
    buckets->flats.resize(k);
    buckets->works.resize(k);
    out = buckets.release();
  });
  return out;
}

// Before the backward pass of a window's last micro-batch: from now on, a bucket is launched as
// soon as it and the ones before it are ready; `tail` (may be null) rides in the last bucket.
int tch_harness_buckets_arm(TchHarnessBuckets *buckets, at::Tensor *tail, char **error) {
  bool ok = guarded(error, [&] {
    std::lock_guard<std::mutex> lock(buckets->mutex);
    if (buckets->armed) throw std::logic_error("gradient buckets armed twice");
    buckets->armed = true;
    buckets->ready.assign(buckets->params.size(), 0);
    buckets->missing.clear();
    for (const auto &bucket : buckets->buckets) buckets->missing.push_back(bucket.size());
    buckets->next = 0;
    buckets->launched_in_backward = 0;
    buckets->tail = tail != nullptr ? *tail : at::Tensor();
  });
  return ok ? 0 : 1;
}

// After it (or instead of it, with `tail` when not armed): launches the buckets left, waits for
// every one, and writes the summed flat buckets into `out` (k tensors, caller frees) and how many
// were launched during backward into `*early`. 0, or 1 with `*error`.
int tch_harness_buckets_finish(TchHarnessBuckets *buckets, at::Tensor *tail, at::Tensor **out,
                               long long *early, char **error) {
  bool ok = guarded(error, [&] {
    {
      std::lock_guard<std::mutex> lock(buckets->mutex);
      if (!buckets->armed) {
        buckets->next = 0;
        buckets->launched_in_backward = 0;
        buckets->tail = tail != nullptr ? *tail : at::Tensor();
      }
      buckets->armed = false;
      buckets->launch_ready(true);
    }
    for (size_t b = 0; b < buckets->buckets.size(); ++b) {
      buckets->works[b]->wait();
      out[b] = new at::Tensor(buckets->flats[b]);
      buckets->works[b].reset();
      buckets->flats[b] = at::Tensor();
    }
    *early = buckets->launched_in_backward;
  });
  return ok ? 0 : 1;
}

void tch_harness_buckets_free(TchHarnessBuckets *buckets) {
  if (buckets == nullptr) return;
  for (size_t i = 0; i < buckets->accumulators.size(); ++i) {
    // Our hooks point at `buckets`: a later backward must not reach them.
    auto &node = buckets->accumulators[i];
    auto &hooks = node->post_hooks();
    hooks.erase(std::remove_if(hooks.begin(), hooks.end(),
                               [&](const std::unique_ptr<torch::autograd::FunctionPostHook> &h) {
                                 auto *ready = dynamic_cast<ReadyHook *>(h.get());
                                 return ready != nullptr && ready->owner == buckets;
                               }),
                hooks.end());
  }
  delete buckets;
}

} // extern "C"
