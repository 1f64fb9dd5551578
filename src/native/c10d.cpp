// A process group of libtorch's own c10d (the engine under torch.distributed and DDP) behind a
// C ABI that takes tch's tensor pointers (`at::Tensor*`). Compiled by build.rs; the Rust side is
// src/distributed/group.rs. The store is a c10d TCPStore (hosted by rank 0, or by torchrun's
// agent); the backend is ProcessGroupGloo, or ProcessGroupNCCL when built with USE_C10D_NCCL.
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#ifdef USE_C10D_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "c10d.h"
#include "guard.h"

using tch_harness::guarded;

namespace {

c10d::ReduceOp reduce_op(int op) {
  switch (op) {
  case 0: return c10d::ReduceOp::SUM;
  case 1: return c10d::ReduceOp::MAX;
  case 2: return c10d::ReduceOp::MIN;
  default: throw std::invalid_argument("unknown reduce op");
  }
}

c10::intrusive_ptr<c10d::Backend> make_gloo(const c10::intrusive_ptr<c10d::Store> &store, int rank,
                                       int world, std::chrono::milliseconds timeout,
                                       const std::string &bind, const std::string &interface) {
  auto options = c10d::ProcessGroupGloo::Options::create(timeout);
  // Bind where the other ranks can reach us: an interface (GLOO_SOCKET_IFNAME), the loopback
  // address for a single-machine job, else the address this host's name resolves to.
  if (!interface.empty()) {
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(interface));
  } else if (!bind.empty()) {
    options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(bind));
  } else {
    options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  }
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, world, options);
}

c10::intrusive_ptr<c10d::Backend> make_nccl(const c10::intrusive_ptr<c10d::Store> &store, int rank,
                                       int world, std::chrono::milliseconds timeout) {
#ifdef USE_C10D_NCCL
  auto options = c10d::ProcessGroupNCCL::Options::create();
  options->timeout = timeout;
  return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, world, options);
#else
  (void)store, (void)rank, (void)world, (void)timeout;
  throw std::runtime_error("this build has no NCCL backend (built without the CUDA and NCCL "
                           "headers; see README, \"More than one process\")");
#endif
}

} // namespace

extern "C" {

int tch_harness_c10d_has_nccl() {
#ifdef USE_C10D_NCCL
  return 1;
#else
  return 0;
#endif
}

// Joins the group: connects to (or, with `host_store`, hosts) the TCPStore at host:port, keys
// under `prefix`, then creates the backend (`gloo` or `nccl`), which waits for every rank.
// Returns null with `*error` set on failure.
TchHarnessGroup *tch_harness_c10d_new(const char *backend, const char *host, int port, int rank,
                                      int world, int host_store, long long timeout_ms,
                                      const char *prefix, const char *bind,
                                      const char *interface, char **error) {
  TchHarnessGroup *out = nullptr;
  guarded(error, [&] {
    auto timeout = std::chrono::milliseconds(timeout_ms);
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<std::uint16_t>(port);
    store_options.isServer = host_store != 0;
    store_options.waitWorkers = false;
    store_options.timeout = timeout;
    auto tcp = c10::make_intrusive<c10d::TCPStore>(std::string(host), store_options);
    auto store = c10::make_intrusive<c10d::PrefixStore>(std::string(prefix), tcp);
    auto group = std::make_unique<TchHarnessGroup>();
    group->store = tcp;
    std::string name(backend);
    auto grads_store = c10::make_intrusive<c10d::PrefixStore>(std::string(prefix) + "/grads", tcp);
    if (name == "gloo") {
      group->backend = make_gloo(store, rank, world, timeout, bind, interface);
      group->grads = make_gloo(grads_store, rank, world, timeout, bind, interface);
    } else if (name == "nccl") {
      group->backend = make_nccl(store, rank, world, timeout);
      group->grads = make_nccl(grads_store, rank, world, timeout);
    } else {
      throw std::invalid_argument("unknown backend " + name);
    }
    out = group.release();
  });
  return out;
}

// Replaces each tensor by rank `root`'s, one collective per tensor. 0, or 1 with `*error`.
int tch_harness_c10d_broadcast(TchHarnessGroup *group, at::Tensor **tensors, int n, int root,
                               char **error) {
  bool ok = guarded(error, [&] {
    for (int i = 0; i < n; ++i) {
      std::vector<at::Tensor> one{*tensors[i]};
      c10d::BroadcastOptions options;
      options.rootRank = root;
      group->backend->broadcast(one, options)->wait();
    }
  });
  return ok ? 0 : 1;
}

// Reduces `tensor` in place over every rank (op 0: sum, 1: max, 2: min): one collective.
int tch_harness_c10d_allreduce(TchHarnessGroup *group, at::Tensor *tensor, int op, char **error) {
  bool ok = guarded(error, [&] {
    std::vector<at::Tensor> one{*tensor};
    c10d::AllreduceOptions options;
    options.reduceOp = reduce_op(op);
    group->backend->allreduce(one, options)->wait();
  });
  return ok ? 0 : 1;
}

int tch_harness_c10d_barrier(TchHarnessGroup *group, char **error) {
  bool ok = guarded(error, [&] { group->backend->barrier()->wait(); });
  return ok ? 0 : 1;
}

void tch_harness_c10d_free(TchHarnessGroup *group) { delete group; }

} // extern "C"
