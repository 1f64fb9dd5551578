// Autocast's thread-local state for one device type, which tch 0.24 cannot set: its
// `tch::autocast` switches CUDA autocast only and takes no dtype. The enter/exit pair does what
// `torch.autocast.__enter__` / `__exit__` do (torch/amp/autocast_mode.py, torch 2.11): save the
// enabled flag and the dtype, set them, bump the nesting; on exit drop the cast cache when the
// outermost region ends, then put both back. The cache-enabled flag is left as it is (Python's
// `cache_enabled=None`). Compiled by build.rs; the Rust side is src/autocast.rs.
#include <ATen/autocast_mode.h>

#include <stdexcept>

#include "guard.h"

using tch_harness::guarded;

namespace {

// `device_type` is c10::DeviceType's value (CPU 0, CUDA 1); autocast must exist for it.
c10::DeviceType autocast_device(int device_type) {
  auto device = static_cast<c10::DeviceType>(device_type);
  if (!at::autocast::is_autocast_available(device)) {
    throw std::invalid_argument(std::string("autocast is not available on ") +
                                c10::DeviceTypeName(device, /*lower_case=*/true));
  }
  return device;
}

} // namespace

extern "C" {

// `torch.autocast(device_type, dtype=dtype).__enter__()`: stores the previous enabled flag and
// dtype (a c10::ScalarType value) in `*prev_enabled` / `*prev_dtype`; returns 0, or 1 with
// `*error` set and nothing changed.
int tch_harness_autocast_enter(int device_type, int dtype, int *prev_enabled, int *prev_dtype,
                               char **error) {
  bool ok = guarded(error, [&] {
    auto device = autocast_device(device_type);
    auto fast = static_cast<c10::ScalarType>(dtype);
    if (fast != at::kBFloat16 && fast != at::kHalf) {
      throw std::invalid_argument("autocast supports only bfloat16 and float16");
    }
    *prev_enabled = at::autocast::is_autocast_enabled(device) ? 1 : 0;
    *prev_dtype = static_cast<int>(at::autocast::get_autocast_dtype(device));
    at::autocast::set_autocast_enabled(device, true);
    at::autocast::set_autocast_dtype(device, fast);
    at::autocast::increment_nesting();
  });
  return ok ? 0 : 1;
}

// `__exit__`: clears the cast cache when leaving the outermost region, then restores the state
// `tch_harness_autocast_enter` returned. Returns 0, or 1 with `*error` set.
int tch_harness_autocast_exit(int device_type, int prev_enabled, int prev_dtype, char **error) {
  bool ok = guarded(error, [&] {
    auto device = autocast_device(device_type);
    if (at::autocast::decrement_nesting() == 0) {
      at::autocast::clear_cache();
    }
    at::autocast::set_autocast_enabled(device, prev_enabled != 0);
    at::autocast::set_autocast_dtype(device, static_cast<c10::ScalarType>(prev_dtype));
  });
  return ok ? 0 : 1;
}

// `torch.is_autocast_enabled(device_type)` and `torch.get_autocast_dtype(device_type)` into
// `*enabled` / `*dtype`; returns 0, or 1 with `*error` set.
int tch_harness_autocast_state(int device_type, int *enabled, int *dtype, char **error) {
  bool ok = guarded(error, [&] {
    auto device = autocast_device(device_type);
    *enabled = at::autocast::is_autocast_enabled(device) ? 1 : 0;
    *dtype = static_cast<int>(at::autocast::get_autocast_dtype(device));
  });
  return ok ? 0 : 1;
}

} // extern "C"
