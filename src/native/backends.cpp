// The process-wide switches PyTorch users set through `torch.backends` and `torch.*`, which tch
// 0.24 cannot set (it binds only cuDNN's benchmark flag): at::globalContext()'s deterministic
// cuDNN, cuDNN benchmark, deterministic algorithms (with warn_only), cuDNN TF32 and the float32
// matmul precision. Each setter is the one Python's binding calls (torch/csrc/Module.cpp), so
// both sides go through the same code. Compiled by build.rs; the Rust side is src/backends.rs.
#include <ATen/Context.h>

#include <stdexcept>
#include <string>

#include "guard.h"

using tch_harness::guarded;

extern "C" {

// `torch.backends.cudnn.deterministic = deterministic`, `torch.use_deterministic_algorithms(
// deterministic, warn_only=False)`, `torch.backends.cudnn.benchmark = benchmark`,
// `torch.backends.cudnn.allow_tf32 = allow_tf32`, `torch.set_float32_matmul_precision(
// matmul_precision)`. Returns 0, or 1 with `*error` set.
int tch_harness_backends_set(int deterministic, int benchmark, int allow_tf32,
                             const char *matmul_precision, char **error) {
  bool ok = guarded(error, [&] {
    std::string precision(matmul_precision);
    if (precision != "highest" && precision != "high" && precision != "medium") {
      throw std::invalid_argument("unknown float32 matmul precision '" + precision + "'");
    }
    auto &context = at::globalContext();
    context.setDeterministicCuDNN(deterministic != 0);
    context.setDeterministicAlgorithms(deterministic != 0, /*warn_only=*/false);
    context.setBenchmarkCuDNN(benchmark != 0);
    context.setAllowTF32CuDNN(allow_tf32 != 0);
    context.setFloat32MatmulPrecision(precision);
  });
  return ok ? 0 : 1;
}

// What at::globalContext() holds now, read back: the two deterministic flags and warn_only,
// cuDNN benchmark and TF32, and the matmul precision (0 highest, 1 high, 2 medium: the
// Float32MatmulPrecision enum). Returns 0, or 1 with `*error` set.
int tch_harness_backends_get(int *deterministic_algorithms, int *warn_only,
                             int *cudnn_deterministic, int *cudnn_benchmark, int *allow_tf32,
                             int *matmul_precision, char **error) {
  bool ok = guarded(error, [&] {
    auto &context = at::globalContext();
    *deterministic_algorithms = context.deterministicAlgorithms() ? 1 : 0;
    *warn_only = context.deterministicAlgorithmsWarnOnly() ? 1 : 0;
    *cudnn_deterministic = context.deterministicCuDNN() ? 1 : 0;
    *cudnn_benchmark = context.benchmarkCuDNN() ? 1 : 0;
    *allow_tf32 = context.allowTF32CuDNN() ? 1 : 0;
    *matmul_precision = static_cast<int>(context.float32MatmulPrecision());
  });
  return ok ? 0 : 1;
}

} // extern "C"
