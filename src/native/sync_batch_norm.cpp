// torch.nn.SyncBatchNorm's autograd function (torch/nn/modules/_functions.py, SyncBatchNorm)
// on the harness's c10d group: the batch statistics of every rank's rows together. Forward:
// each rank's mean, invstd and count all-gathered (a rank without rows sends zeros, so it still
// joins), combined as batch_norm_gather_stats_with_counts, which also updates the running
// statistics alike on every rank; backward: sum_dy and sum_dy_xmu all-reduced. On CUDA it calls
// aten's own kernels, as PyTorch does; those are CUDA-only, so on the CPU the same formulas run as
// plain tensor ops, mirrored op for op by scripts/torchref/sync_batchnorm.py. The Rust side is
// src/distributed/sync_batch_norm.rs.
#include <torch/csrc/autograd/custom_function.h>
#include <ATen/ATen.h>

#include <tuple>
#include <vector>

#include "c10d.h"
#include "guard.h"

using tch_harness::guarded;
using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

namespace {

// The reduced dimensions of an [N, C, …] input: all but the channels'.
std::vector<int64_t> reduced_dims(const at::Tensor &input) {
  std::vector<int64_t> dims{0};
  for (int64_t d = 2; d < input.dim(); ++d) dims.push_back(d);
  return dims;
}

// A per-channel vector shaped to broadcast over an [N, C, …] input.
at::Tensor per_channel(const at::Tensor &v, const at::Tensor &input) {
  std::vector<int64_t> shape(input.dim(), 1);
  shape[1] = v.size(0);
  return v.view(shape);
}

// batch_norm_stats: this rank's mean and 1 / sqrt(biased var + eps) per channel.
std::tuple<at::Tensor, at::Tensor> local_stats(const at::Tensor &input, double eps) {
  if (input.is_cuda()) return at::batch_norm_stats(input, eps);
  auto [var, mean] =
      at::var_mean(input, at::OptionalIntArrayRef(reduced_dims(input)), at::Scalar(0), false);
  return {mean, (var + eps).sqrt().reciprocal()};
}

// batch_norm_gather_stats_with_counts' kernel (batch_norm_reduce_statistics_kernel), one
// channel-vector op per step, the ranks in order: Chan's parallel combination of (mean, M2,
// count), then the running statistics with the unbiased variance of the global count.
std::tuple<at::Tensor, at::Tensor> gather_stats(const at::Tensor &mean_all,
                                                const at::Tensor &invstd_all,
                                                const at::Tensor &running_mean,
                                                const at::Tensor &running_var, double momentum,
                                                double eps, const at::Tensor &counts) {
  auto channels = mean_all.size(1);
  auto avg = at::zeros({channels}, mean_all.options());
  auto var_n = at::zeros({channels}, mean_all.options());
  auto host_counts = counts.to(at::kCPU, at::kDouble).contiguous();
  int64_t n = 0;
  for (int64_t j = 0; j < mean_all.size(0); ++j) {
    float count = static_cast<float>(host_counts.data_ptr<double>()[j]);
    auto m = mean_all[j];
    auto v = invstd_all[j].reciprocal();
    v = (v * v - eps) * static_cast<double>(count);
    float factor = static_cast<float>(1.0 / (static_cast<double>(n) + count));
    auto d = avg - m;
    var_n = var_n + (v + d * d * static_cast<double>(n) * static_cast<double>(count) *
                             static_cast<double>(factor));
    float old_share = static_cast<float>(n) * factor, new_share = count * factor;
    avg = avg * static_cast<double>(old_share) + m * static_cast<double>(new_share);
    n = static_cast<int64_t>(static_cast<float>(n) + count);
  }
  auto invstd = (var_n / static_cast<double>(n) + eps).sqrt().reciprocal();
  float keep = 1.0f - static_cast<float>(momentum);
  if (running_mean.defined()) {
    at::NoGradGuard no_grad;
    running_mean.copy_(running_mean * static_cast<double>(keep) + avg * momentum);
  }
  if (running_var.defined()) {
    at::NoGradGuard no_grad;
    auto unbiased = var_n / static_cast<double>(n - 1);
    running_var.copy_(running_var * static_cast<double>(keep) + unbiased * momentum);
  }
  return {avg, invstd};
}

// batch_norm_elemt: weight * (x - mean) * invstd + bias.
at::Tensor elemt(const at::Tensor &input, const at::Tensor &weight, const at::Tensor &bias,
                 const at::Tensor &mean, const at::Tensor &invstd, double eps) {
  if (input.is_cuda()) return at::batch_norm_elemt(input, weight, bias, mean, invstd, eps);
  auto out = input - per_channel(mean, input);
  if (weight.defined()) out = per_channel(weight, input) * out;
  out = out * per_channel(invstd, input);
  if (bias.defined()) out = out + per_channel(bias, input);
  return out;
}

struct SyncBatchNormFunction : public torch::autograd::Function<SyncBatchNormFunction> {
  static at::Tensor forward(AutogradContext *ctx, at::Tensor input, at::Tensor weight,
                            at::Tensor bias, at::Tensor running_mean, at::Tensor running_var,
                            double eps, double momentum, int64_t group_address) {
    auto *group = reinterpret_cast<TchHarnessGroup *>(group_address);
    input = input.contiguous();
    if (weight.defined()) weight = weight.contiguous();
    int64_t channels = input.size(1);
    at::Tensor combined;
    if (input.numel() > 0) {
      auto [mean, invstd] = local_stats(input, eps);
      auto count = at::full({1}, static_cast<double>(input.numel() / channels), mean.options());
      combined = at::cat({mean, invstd, count}, 0);
    } else {
      // No rows here: zero stats and count, filtered out below, but the rank still joins.
      combined = at::zeros({2 * channels + 1}, input.options());
    }
    std::vector<std::vector<at::Tensor>> gathered(1);
    for (int r = 0; r < group->backend->getSize(); ++r)
      gathered[0].push_back(at::empty_like(combined));
    std::vector<at::Tensor> mine{combined};
    group->backend->allgather(gathered, mine)->wait();
    auto all = at::stack(gathered[0], 0);
    auto parts = at::split(all, channels, 1);
    auto mean_all = parts[0], invstd_all = parts[1], count_all = parts[2];
    auto mask = count_all.squeeze(-1) >= 1; // stats of ranks without rows are left out
    count_all = count_all.index({mask});
    mean_all = mean_all.index({mask});
    invstd_all = invstd_all.index({mask});
    auto counts = count_all.view(-1);
    if (running_mean.defined() && counts.scalar_type() != running_mean.scalar_type())
      counts = counts.to(running_mean.scalar_type());
    at::Tensor mean, invstd;
    if (input.is_cuda()) {
      std::tie(mean, invstd) = at::batch_norm_gather_stats_with_counts(
          input, mean_all, invstd_all, running_mean, running_var, momentum, eps, counts);
    } else {
      std::tie(mean, invstd) =
          gather_stats(mean_all, invstd_all, running_mean, running_var, momentum, eps, counts);
    }
    ctx->save_for_backward({input, weight, mean, invstd, count_all.to(at::kInt)});
    ctx->saved_data["group"] = group_address;
    if (input.numel() == 0) return at::empty_like(input);
    return elemt(input, weight, bias, mean, invstd, eps);
  }

  static variable_list backward(AutogradContext *ctx, variable_list grad_outputs) {
    auto grad_output = grad_outputs[0].contiguous();
    auto saved = ctx->get_saved_variables();
    auto input = saved[0], weight = saved[1], mean = saved[2], invstd = saved[3];
    auto count_tensor = saved[4];
    auto *group = reinterpret_cast<TchHarnessGroup *>(ctx->saved_data["group"].toInt());
    at::Tensor grad_input, grad_weight, grad_bias;
    bool input_g = ctx->needs_input_grad(0), weight_g = ctx->needs_input_grad(1);
    bool bias_g = ctx->needs_input_grad(2);
    int64_t channels = input.size(1);
    if (input.numel() > 0) {
      at::Tensor sum_dy, sum_dy_xmu;
      if (input.is_cuda()) {
        std::tie(sum_dy, sum_dy_xmu, grad_weight, grad_bias) = at::batch_norm_backward_reduce(
            grad_output, input, mean, invstd, weight, input_g, weight_g, bias_g);
      } else {
        auto dims = reduced_dims(input);
        auto xmu = input - per_channel(mean, input);
        sum_dy = grad_output.sum(dims);
        sum_dy_xmu = (grad_output * xmu).sum(dims);
        grad_weight = sum_dy_xmu * invstd;
        grad_bias = sum_dy;
      }
      if (input_g) {
        auto combined = at::cat({sum_dy, sum_dy_xmu}, 0);
        std::vector<at::Tensor> one{combined};
        group->backend->allreduce(one)->wait();
        auto halves = at::split(combined, channels);
        sum_dy = halves[0];
        sum_dy_xmu = halves[1];
        if (weight.defined() && weight.scalar_type() != mean.scalar_type())
          weight = weight.to(mean.scalar_type());
        if (input.is_cuda()) {
          grad_input = at::batch_norm_backward_elemt(grad_output, input, mean, invstd, weight,
                                                     sum_dy, sum_dy_xmu, count_tensor);
        } else {
          // batch_norm_backward_elemt's kernel: (dy - mean_dy - xmu * invstd² mean_dy_xmu) *
          // weight * invstd, the means over every rank's rows.
          float norm = 1.0f / static_cast<float>(count_tensor.sum().item<int64_t>());
          auto mean_dy = sum_dy * static_cast<double>(norm);
          auto factor_1 = invstd * invstd * sum_dy_xmu * static_cast<double>(norm);
          auto factor_2 = weight.defined() ? weight * invstd : invstd;
          auto xmu = input - per_channel(mean, input);
          grad_input = (grad_output - per_channel(mean_dy, input) -
                        xmu * per_channel(factor_1, input)) *
                       per_channel(factor_2, input);
        }
      }
      if (!weight.defined() || !weight_g) grad_weight = at::Tensor();
      if (!weight.defined() || !bias_g) grad_bias = at::Tensor();
    } else if (input_g) {
      // No rows here: nothing to add, but the peers wait for this rank's share.
      std::vector<at::Tensor> one{at::zeros({2 * channels}, input.options())};
      group->backend->allreduce(one)->wait();
    }
    return {grad_input, grad_weight, grad_bias, at::Tensor(), at::Tensor(),
            at::Tensor(), at::Tensor(), at::Tensor()};
  }
};

at::Tensor or_undefined(const at::Tensor *t) { return t == nullptr ? at::Tensor() : *t; }

} // namespace

extern "C" {

// The SyncBatchNorm forward of `input` ([N, C, …], N may be 0) in training mode; weight, bias and
// the running statistics may be null. Returns a new tensor (the caller owns it), or null with
// `*error` set.
at::Tensor *tch_harness_sync_batch_norm(TchHarnessGroup *group, const at::Tensor *input,
                                        const at::Tensor *weight, const at::Tensor *bias,
                                        const at::Tensor *running_mean,
                                        const at::Tensor *running_var, double eps,
                                        double momentum, char **error) {
  at::Tensor *out = nullptr;
  guarded(error, [&] {
    auto result = SyncBatchNormFunction::apply(
        *input, or_undefined(weight), or_undefined(bias), or_undefined(running_mean),
        or_undefined(running_var), eps, momentum, reinterpret_cast<int64_t>(group));
    out = new at::Tensor(std::move(result));
  });
  return out;
}

} // extern "C"
