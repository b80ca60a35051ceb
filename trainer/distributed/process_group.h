#pragma once
// The processes of one data-parallel job and the collectives between them, on PyTorch c10d:
// rendezvous through a TCPStore served by rank 0, then Gloo (CPU tensors) or NCCL (CUDA tensors).
// A world of one needs neither: it is a stub whose collectives return at once, so everything
// built on it runs and is tested without a second process.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "common/errors.h"

namespace nasforge::trainer::distributed {

// common/errors.h (the trainer throws it too, for a rank that cannot go on).
using CollectiveError = nasforge::CollectiveError;

enum class BackendKind { kAuto, kGloo, kNccl };

// Where this process stands in the job; read from the torchrun-style environment.
struct DistributedOptions {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  // How long a collective or the rendezvous may wait for a peer before failing.
  std::chrono::milliseconds timeout{60'000};
  BackendKind backend = BackendKind::kAuto;  // auto: NCCL for CUDA devices, Gloo otherwise

  // RANK, WORLD_SIZE, LOCAL_RANK (default RANK), MASTER_ADDR, MASTER_PORT (required when
  // WORLD_SIZE > 1) and NASFORGE_DIST_TIMEOUT (seconds, default 60). Unset WORLD_SIZE: a world
  // of one. Throws ConfigError naming the variable that is malformed or out of range.
  static DistributedOptions from_environment();
  void validate() const;
};

class DistributedContext {
 public:
  // Joins the job (blocks until every rank has joined or the timeout passes: CollectiveError).
  // `device` is where the tensors passed to the collectives live.
  DistributedContext(const DistributedOptions& options, c10::Device device);
  ~DistributedContext();
  DistributedContext(const DistributedContext&) = delete;
  DistributedContext& operator=(const DistributedContext&) = delete;

  // In a subgroup (new_group), rank() and world_size() are this process's place in the group and
  // the group's size; global_rank() is its rank in the whole job.
  int rank() const { return options_.rank; }
  int global_rank() const;
  int world_size() const { return options_.world_size; }
  int local_rank() const { return options_.local_rank; }
  bool is_main() const { return options_.rank == 0; }
  c10::Device device() const { return device_; }
  // "gloo", "nccl" or "none" (a world of one).
  std::string backend_name() const;

  // Sums each tensor over ranks, in place. All are started before any is waited for, so that
  // buckets go over the wire back to back.
  void all_reduce_sum(std::vector<at::Tensor>& tensors);
  void all_reduce_sum(at::Tensor& tensor);
  // Starts summing `tensor` over ranks in place and returns at once (any thread may call it, as
  // gradient hooks do during backward); wait_started() waits for every one started so far. Every
  // rank must start the same collectives in the same order.
  void start_all_reduce_sum(const at::Tensor& tensor);
  void wait_started();
  // Copies `tensor` of rank `root` into every rank's `tensor` (same shape and dtype everywhere).
  void broadcast(at::Tensor& tensor, int root = 0);
  // Rank `root`'s string on every rank (any length).
  std::string broadcast_string(const std::string& value, int root = 0);
  void barrier();

  // The subgroup of `ranks` (ranks of this world, ascending, this process among them), as
  // torch.distributed.new_group: a process group of its own on the same backend, rendezvous
  // through the same store under a prefix naming its ranks. Only its members call it; a group of
  // one is a stub. Its collectives' errors name the global ranks.
  std::unique_ptr<DistributedContext> new_group(const std::vector<int>& ranks) const;

  // Point to point, as pipeline stages use them (Gloo on CPU; NCCL takes the same calls). send()
  // starts sending `tensor` (contiguous; kept alive here) to rank `peer` and returns at once;
  // wait_sends() waits for every send started so far. recv() fills `tensor` (its shape and dtype
  // must match what was sent) from `peer` and returns once it has arrived. A send and its recv
  // carry the same `tag`.
  void send(const at::Tensor& tensor, int peer, int tag);
  void wait_sends();
  void recv(at::Tensor& tensor, int peer, int tag);

 private:
  struct Impl;
  DistributedContext(const DistributedOptions& options, c10::Device device,
                     std::unique_ptr<Impl> impl);
  // Rethrows a c10d failure as CollectiveError saying which collective, on which rank, and why.
  [[noreturn]] void fail(const std::string& what, const std::exception& e) const;

  DistributedOptions options_;
  c10::Device device_;
  std::unique_ptr<Impl> impl_;
};

// Rank 0's `value` on every rank (one broadcast; the others' `value` is ignored): how the ranks
// of a trial agree to stop after an epoch when only rank 0 asks its pruners.
bool rank0_decides(DistributedContext& context, bool value);

}  // namespace nasforge::trainer::distributed
