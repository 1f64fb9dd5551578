// Drops a tensor's gradient (`param.grad = None` in Python), which tch 0.24 cannot do: its
// `zero_grad` zeroes the gradient in place. PyTorch's `Optimizer.zero_grad()` sets gradients to
// None by default, and a parameter whose gradient is None is skipped by the optimizers. Compiled
// by build.rs; the Rust side is src/optim/grad.rs.
#include <ATen/core/Tensor.h>

#include <stdexcept>

#include "guard.h"

using tch_harness::guarded;

extern "C" {

// `tensor.grad = None`; returns 0, or 1 with `*error` set. The tensor stays the caller's
// (`mutable_grad` is const on at::Tensor: the gradient is autograd metadata, not the data).
int tch_harness_grad_reset(const at::Tensor *tensor, char **error) {
  bool ok = guarded(error, [&] {
    if (tensor == nullptr) throw std::invalid_argument("null tensor");
    if (!tensor->defined()) throw std::invalid_argument("undefined tensor");
    tensor->mutable_grad().reset();
  });
  return ok ? 0 : 1;
}

} // extern "C"
