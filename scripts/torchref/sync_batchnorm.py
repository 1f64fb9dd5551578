"""--sync-batchnorm: batch norm over every rank's rows, as torch.nn.SyncBatchNorm, whose modules
`convert` puts in place (`nn.SyncBatchNorm.convert_sync_batchnorm`) — the harness's
src/native/sync_batch_norm.cpp. PyTorch 2.11's SyncBatchNorm raises on the CPU ("SyncBatchNorm
expected input tensor to be on GPU or XPU …": aten's batch_norm_stats, _gather_stats_with_counts,
_elemt and _backward_* are CUDA kernels), so on the CPU the modules become CpuSyncBatchNorm, whose
function is PyTorch's own (torch/nn/modules/_functions.py, SyncBatchNorm) with those kernels'
formulas written as tensor ops, op for op as the harness's shim."""
import torch
import torch.distributed as dist
from torch import nn


def reduced_dims(x):
    return [0] + list(range(2, x.dim()))


def per_channel(v, x):
    return v.view([1, v.size(0)] + [1] * (x.dim() - 2))


def f32(v):
    """A Python float rounded to float32, as the CUDA kernels' float locals hold it."""
    return torch.tensor(v, dtype=torch.float32).item()


def gather_stats(mean_all, invstd_all, running_mean, running_var, momentum, eps, counts):
    """batch_norm_gather_stats_with_counts' kernel: the ranks' (mean, M2, count) combined in
    order, then the running statistics with the unbiased variance of the global count."""
    avg = torch.zeros(mean_all.size(1), dtype=mean_all.dtype)
    var_n = torch.zeros(mean_all.size(1), dtype=mean_all.dtype)
    n = 0
    for j, count in enumerate(counts.double().tolist()):
        count = f32(count)
        m = mean_all[j]
        v = invstd_all[j].reciprocal()
        v = (v * v - eps) * count
        factor = f32(1.0 / (n + count))
        d = avg - m
        var_n = var_n + (v + d * d * float(n) * count * factor)
        avg = avg * f32(f32(float(n)) * factor) + m * f32(count * factor)
        n = int(f32(f32(float(n)) + count))
    invstd = (var_n / float(n) + eps).sqrt().reciprocal()
    keep = f32(1.0 - f32(momentum))
    with torch.no_grad():
        if running_mean is not None:
            running_mean.copy_(running_mean * keep + avg * momentum)
        if running_var is not None:
            running_var.copy_(running_var * keep + var_n / float(n - 1) * momentum)
    return avg, invstd


class CpuSyncBatchNormFunction(torch.autograd.Function):
    """torch.nn.modules._functions.SyncBatchNorm on the gloo group, with the kernels' formulas."""

    @staticmethod
    def forward(ctx, input, weight, bias, running_mean, running_var, eps, momentum, world_size):
        input = input.contiguous()
        if weight is not None:
            weight = weight.contiguous()
        channels = input.size(1)
        if input.numel() > 0:
            var, mean = torch.var_mean(input, reduced_dims(input), correction=0)
            invstd = (var + eps).sqrt().reciprocal()
            count = torch.full((1,), input.numel() // channels, dtype=mean.dtype)
            combined = torch.cat([mean, invstd, count], dim=0)
        else:  # no rows here: zeros, filtered out below, but this rank still joins
            combined = torch.zeros(2 * channels + 1, dtype=input.dtype)
        gathered = [torch.empty_like(combined) for _ in range(world_size)]
        dist.all_gather(gathered, combined)
        mean_all, invstd_all, count_all = torch.split(torch.stack(gathered, dim=0), channels, dim=1)
        mask = count_all.squeeze(-1) >= 1
        count_all, mean_all, invstd_all = count_all[mask], mean_all[mask], invstd_all[mask]
        counts = count_all.view(-1)
        if running_mean is not None and counts.dtype != running_mean.dtype:
            counts = counts.to(running_mean.dtype)
        mean, invstd = gather_stats(mean_all, invstd_all, running_mean, running_var, momentum, eps, counts)
        ctx.save_for_backward(input, weight, mean, invstd, count_all.to(torch.int32))
        if input.numel() == 0:
            return torch.empty_like(input)
        out = input - per_channel(mean, input)
        if weight is not None:
            out = per_channel(weight, input) * out
        out = out * per_channel(invstd, input)
        if bias is not None:
            out = out + per_channel(bias, input)
        return out

    @staticmethod
    def backward(ctx, grad_output):
        grad_output = grad_output.contiguous()
        input, weight, mean, invstd, count_tensor = ctx.saved_tensors
        grad_input = grad_weight = grad_bias = None
        channels = input.size(1)
        if input.numel() > 0:
            dims = reduced_dims(input)
            xmu = input - per_channel(mean, input)
            sum_dy = grad_output.sum(dims)
            sum_dy_xmu = (grad_output * xmu).sum(dims)
            grad_weight, grad_bias = sum_dy_xmu * invstd, sum_dy
            if ctx.needs_input_grad[0]:
                combined = torch.cat([sum_dy, sum_dy_xmu], dim=0)
                dist.all_reduce(combined)
                sum_dy, sum_dy_xmu = torch.split(combined, channels)
                if weight is not None and weight.dtype != mean.dtype:
                    weight = weight.to(mean.dtype)
                norm = f32(1.0 / f32(float(count_tensor.sum().item())))
                mean_dy = sum_dy * norm
                factor_1 = invstd * invstd * sum_dy_xmu * norm
                factor_2 = weight * invstd if weight is not None else invstd
                grad_input = (grad_output - per_channel(mean_dy, input)
                              - xmu * per_channel(factor_1, input)) * per_channel(factor_2, input)
            if weight is None or not ctx.needs_input_grad[1]:
                grad_weight = None
            if weight is None or not ctx.needs_input_grad[2]:
                grad_bias = None
        elif ctx.needs_input_grad[0]:  # no rows: nothing to add, but the peers wait for us
            dist.all_reduce(torch.zeros(2 * channels, dtype=input.dtype))
        return grad_input, grad_weight, grad_bias, None, None, None, None, None


class CpuSyncBatchNorm(nn.SyncBatchNorm):
    """nn.SyncBatchNorm whose synchronised forward runs on the CPU (the rest is PyTorch's)."""

    def forward(self, input):
        if input.is_cuda or not self.training or dist.get_world_size() < 2:
            return super().forward(input)
        self._check_input_dim(input)
        self._check_non_zero_input_channels(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            factor = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        running_mean = self.running_mean if self.track_running_stats else None
        running_var = self.running_var if self.track_running_stats else None
        return CpuSyncBatchNormFunction.apply(input, self.weight, self.bias, running_mean, running_var,
                                              self.eps, factor, dist.get_world_size())


def convert(model):
    """The model with its BatchNorm*d layers made nn.SyncBatchNorm (CpuSyncBatchNorm on the CPU),
    sharing their parameters and buffers."""
    model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    for module in model.modules():
        if type(module) is nn.SyncBatchNorm:
            module.__class__ = CpuSyncBatchNorm
    model.sync_batchnorm = True
    return model


def active(model):
    """Whether the model was converted: then every rank runs every batch's forward pass, rows or
    not (its batch norm joins collectives; its dropout draws the global mask), as the harness
    does inside its SyncBatchNorm scope, whether or not the model has batch norm."""
    return getattr(model, "sync_batchnorm", False)
