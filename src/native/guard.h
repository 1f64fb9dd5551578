// Shared by the C++ shims (rng.cpp, grad.cpp, c10d.cpp): no C++ exception crosses into Rust; each one
// becomes a malloc'd message that the caller frees with `tch_harness_rng_free_error`.
#pragma once
#include <cstdlib>
#include <cstring>
#include <exception>

namespace tch_harness {

inline char *copy_message(const char *text) {
  size_t len = std::strlen(text);
  char *copy = static_cast<char *>(std::malloc(len + 1));
  if (copy != nullptr) {
    std::memcpy(copy, text, len + 1);
  }
  return copy;
}

// Runs `body`; on a C++ exception, stores its message in `*error` (when non-null) and returns
// false.
template <typename F> bool guarded(char **error, F body) {
  try {
    body();
    return true;
  } catch (const std::exception &e) {
    if (error != nullptr) *error = copy_message(e.what());
  } catch (...) {
    if (error != nullptr) *error = copy_message("unknown C++ exception");
  }
  return false;
}

} // namespace tch_harness
