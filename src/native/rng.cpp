// Get and set the state of libtorch's global CPU generator (the one `tch::manual_seed`, randperm
// and at::dropout draw from), which tch 0.24 does not expose. Compiled by build.rs; the Rust side
// is src/rng_state.rs. No C++ exception crosses into Rust: each one becomes a malloc'd message
// that the caller frees with `tch_harness_rng_free_error`.
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/Tensor.h>

#include <cstdlib>
#include <mutex>
#include <stdexcept>

#include "guard.h"

using tch_harness::guarded;

extern "C" {

// A new tensor holding the generator's state (`torch.get_rng_state()`), or null with `*error`
// set. The caller owns the tensor (tch's `Tensor::from_ptr`).
at::Tensor *tch_harness_cpu_rng_get_state(char **error) {
  at::Tensor *out = nullptr;
  guarded(error, [&] {
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    out = new at::Tensor(gen.get_state());
  });
  return out;
}

// Sets the generator's state from `state` (`torch.set_rng_state(state)`); returns 0, or 1 with
// `*error` set. The tensor stays the caller's.
int tch_harness_cpu_rng_set_state(const at::Tensor *state, char **error) {
  bool ok = guarded(error, [&] {
    if (state == nullptr) throw std::invalid_argument("null state tensor");
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(*state);
  });
  return ok ? 0 : 1;
}

void tch_harness_rng_free_error(char *error) { std::free(error); }

} // extern "C"
