#include "trainer/distributed/process_group.h"

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/csrc/distributed/c10d/Backend.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <mutex>
#include <thread>

#include "common/environment.h"
#include "common/first_line.h"
#include "trainer/distributed/heartbeat.h"

namespace nasforge::trainer::distributed {

#ifdef NASFORGE_WITH_NCCL
// nccl_backend.cpp: kept apart so that only it parses the CUDA and NCCL headers.
c10::intrusive_ptr<c10d::Backend> make_nccl_backend(const c10::intrusive_ptr<c10d::Store>& store,
                                                    int rank, int size,
                                                    std::chrono::milliseconds timeout,
                                                    c10::Device device);
#endif

namespace {

bool is_loopback(const std::string& addr) {
  return addr == "localhost" || addr.rfind("127.", 0) == 0 || addr == "::1";
}

// Whether host:port actively refuses connections on every address it resolves to, for ~2 s
// (false as soon as one connects, and for anything unclear: no answer, no address).
bool refuses_connections(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return false;
  bool refused = true;
  for (int attempt = 0; attempt < 5 && refused; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(500));
    for (const addrinfo* a = found; a != nullptr && refused; a = a->ai_next) {
      const int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK, a->ai_protocol);
      if (fd < 0) {
        refused = false;
        break;
      }
      int error = 0;
      if (connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
        error = errno;
        if (error == EINPROGRESS) {
          pollfd p{fd, POLLOUT, 0};
          socklen_t len = sizeof error;
          error = poll(&p, 1, 2'000) == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &len) == 0
                      ? error
                      : ETIMEDOUT;
        }
      }
      close(fd);
      refused = error == ECONNREFUSED;
    }
  }
  freeaddrinfo(found);
  return refused;
}

}  // namespace

DistributedOptions DistributedOptions::from_environment() {
  DistributedOptions o;
  constexpr int kMaxRanks = 1 << 20;
  o.world_size = env_int("WORLD_SIZE", 1, 1, kMaxRanks);
  o.rank = env_int("RANK", 0, 0, kMaxRanks);
  o.local_rank = env_int("LOCAL_RANK", o.rank, 0, kMaxRanks);
  o.timeout = std::chrono::seconds(env_int("NASFORGE_DIST_TIMEOUT", 60, 1, 86'400));
  if (o.world_size > 1) {
    const char* addr = std::getenv("MASTER_ADDR");
    if (addr == nullptr || *addr == '\0') {
      throw ConfigError("WORLD_SIZE=" + std::to_string(o.world_size) +
                        " but MASTER_ADDR is not set; set it to rank 0's address (or use "
                        "nasforge launch, which sets it)");
    }
    o.master_addr = addr;
    if (std::getenv("MASTER_PORT") == nullptr) {
      throw ConfigError("WORLD_SIZE=" + std::to_string(o.world_size) +
                        " but MASTER_PORT is not set; set it to a free port on MASTER_ADDR");
    }
    o.master_port = env_int("MASTER_PORT", 0, 1, 65'535);
  }
  o.validate();
  return o;
}

void DistributedOptions::validate() const {
  if (world_size < 1)
    throw ConfigError("world size " + std::to_string(world_size) + ": must be >= 1");
  if (rank < 0 || rank >= world_size) {
    throw ConfigError("rank " + std::to_string(rank) + " is outside the world of " +
                      std::to_string(world_size) + " (RANK must be in [0, WORLD_SIZE))");
  }
  if (master_port < 1 || master_port > 65'535) {
    throw ConfigError("master port " + std::to_string(master_port) + ": must be in [1, 65535]");
  }
  if (timeout.count() <= 0) throw ConfigError("distributed timeout must be positive");
}

struct DistributedContext::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::Backend> backend;
  std::string name = "none";
  std::mutex started_mutex;  // guards `started`: gradient hooks start collectives
  std::vector<c10::intrusive_ptr<c10d::Work>> started;
  // A subgroup's members (global ranks; empty: the whole world) and the job's heartbeat, shared
  // with the world's context, which names the peers that went silent when a collective fails.
  std::vector<int> members;
  std::shared_ptr<Heartbeat> heartbeat;
  bool nccl = false;

  // Gloo: the host waits, at most `timeout`. NCCL: the current stream waits for the collective's
  // stream and the host goes on; a wait with a timeout would poll the host until the kernel ends
  // (every bucket of every step). NCCL's watchdog enforces the process group's timeout instead.
  void wait(c10d::Work& work, std::chrono::milliseconds timeout) const {
    if (nccl) {
      work.wait();
    } else {
      work.wait(timeout);
    }
  }
  std::vector<c10::intrusive_ptr<c10d::Work>> sends;  // point-to-point sends not yet waited for
  std::vector<at::Tensor> sending;                    // what they send, alive until then
};

DistributedContext::DistributedContext(const DistributedOptions& options, c10::Device device)
    : DistributedContext(options, device, std::make_unique<Impl>()) {}

DistributedContext::DistributedContext(const DistributedOptions& options, c10::Device device,
                                       std::unique_ptr<Impl> impl)
    : options_(options), device_(device), impl_(std::move(impl)) {
  options_.validate();
  if (options_.world_size == 1) return;
  auto kind = options_.backend;
  if (kind == BackendKind::kAuto) kind = device.is_cuda() ? BackendKind::kNccl : BackendKind::kGloo;
  if (kind == BackendKind::kGloo && device.is_cuda()) {
    throw ConfigError("the gloo backend takes CPU tensors; use nccl for device " + device.str());
  }
  if (kind == BackendKind::kNccl && !device.is_cuda()) {
    throw ConfigError("the nccl backend takes CUDA tensors; use gloo for device " + device.str());
  }
  const std::string where = options_.master_addr + ":" + std::to_string(options_.master_port);
  if (!impl_->store) {  // a subgroup comes with its parent's store, prefixed
    // Under torchrun (c10d rendezvous) its agent already serves the store at MASTER_PORT, as
    // PyTorch's init_process_group assumes: every rank is then a client of it.
    const char* agent_store = std::getenv("TORCHELASTIC_USE_AGENT_STORE");
    const bool agent_serves = agent_store != nullptr && std::string(agent_store) == "True";
    // That agent served its store before it started this process, so a refused connection means
    // the agent has stopped (its node failed, e.g. rank 0 refused its input): say so now rather
    // than retry for twice the timeout.
    if (agent_serves && refuses_connections(options_.master_addr, options_.master_port)) {
      throw CollectiveError("rank " + std::to_string(options_.rank) + " of " +
                            std::to_string(options_.world_size) +
                            ": the torchrun agent's store at " + where +
                            " refuses connections: the job has stopped (see the first failure in "
                            "the log of rank 0's node)");
    }
    try {
      c10d::TCPStoreOptions store_options;
      store_options.port = static_cast<std::uint16_t>(options_.master_port);
      store_options.isServer = options_.rank == 0 && !agent_serves;
      store_options.numWorkers = static_cast<std::size_t>(options_.world_size);
      store_options.waitWorkers = true;
      store_options.timeout = options_.timeout;
      impl_->store = c10::make_intrusive<c10d::TCPStore>(options_.master_addr, store_options);
    } catch (const std::exception& e) {
      throw CollectiveError("rank " + std::to_string(options_.rank) + " of " +
                            std::to_string(options_.world_size) + ": rendezvous at " + where +
                            " failed: " + first_line(e.what()) +
                            " (are all ranks started with the same MASTER_ADDR and MASTER_PORT?)");
    }
  }
  if (!impl_->heartbeat) {
    try {
      impl_->heartbeat = std::make_shared<Heartbeat>(
          StoreClient::connect(options_.master_addr, options_.master_port, options_.timeout),
          options_.rank);
    } catch (const Error& e) {
      throw CollectiveError("rank " + std::to_string(options_.rank) + ": " + e.what());
    }
  }
  try {
    if (kind == BackendKind::kGloo) {
      auto gloo = c10d::ProcessGroupGloo::Options::create(options_.timeout);
      // Loopback for a single-machine job; otherwise the address this host's name resolves to
      // (or the interface named by GLOO_SOCKET_IFNAME, as in PyTorch).
      const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
      if (ifname != nullptr && *ifname != '\0') {
        gloo->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
      } else if (is_loopback(options_.master_addr)) {
        gloo->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      } else {
        gloo->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      }
      gloo->threads = 2;
      impl_->backend = c10::make_intrusive<c10d::ProcessGroupGloo>(impl_->store, options_.rank,
                                                                   options_.world_size, gloo);
      impl_->name = "gloo";
    } else {
#ifdef NASFORGE_WITH_NCCL
      impl_->backend = make_nccl_backend(impl_->store, options_.rank, options_.world_size,
                                         options_.timeout, device);
      impl_->name = "nccl";
      impl_->nccl = true;
#else
      throw ConfigError("this nasforge was built without NCCL; use the gloo backend (CPU)");
#endif
    }
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    fail("creating the " + std::string(kind == BackendKind::kGloo ? "gloo" : "nccl") +
             " process group",
         e);
  }
}

DistributedContext::~DistributedContext() {
  // NCCL wants its communicators shut down before the process group goes (PyTorch warns of a
  // leak otherwise, and a peer may still be inside a collective); Gloo's shutdown does nothing.
  if (!impl_->backend) return;
  try {
    impl_->backend->shutdown();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "nasforge: rank %d: shutting down the %s process group: %s\n",
                 options_.rank, impl_->name.c_str(), first_line(e.what()).c_str());
  }
}

std::string DistributedContext::backend_name() const { return impl_->name; }

int DistributedContext::global_rank() const {
  return impl_->members.empty() ? options_.rank : impl_->members[options_.rank];
}

std::unique_ptr<DistributedContext> DistributedContext::new_group(
    const std::vector<int>& ranks) const {
  if (!impl_->members.empty()) throw InternalError("new_group: call it on the world's context");
  std::string tag = "nasforge/group";
  int local = -1;
  for (std::size_t i = 0; i < ranks.size(); ++i) {
    if (ranks[i] < 0 || ranks[i] >= options_.world_size || (i > 0 && ranks[i] <= ranks[i - 1])) {
      throw InternalError("new_group: ranks must be ascending and in [0, " +
                          std::to_string(options_.world_size) + ")");
    }
    if (ranks[i] == options_.rank) local = static_cast<int>(i);
    tag.append(i == 0 ? "/" : "-").append(std::to_string(ranks[i]));
  }
  if (local < 0) {
    throw InternalError("new_group: rank " + std::to_string(options_.rank) +
                        " is not one of the group's ranks");
  }
  auto impl = std::make_unique<Impl>();
  impl->members = ranks;
  impl->heartbeat = impl_->heartbeat;
  if (impl_->store) impl->store = c10::make_intrusive<c10d::PrefixStore>(tag, impl_->store);
  auto options = options_;
  options.rank = local;
  options.world_size = static_cast<int>(ranks.size());
  return std::unique_ptr<DistributedContext>(
      new DistributedContext(options, device_, std::move(impl)));
}

void DistributedContext::fail(const std::string& what, const std::exception& e) const {
  std::vector<int> peers;
  for (int r = 0; r < options_.world_size; ++r) {
    const int global = impl_->members.empty() ? r : impl_->members[r];
    if (global != global_rank()) peers.push_back(global);
  }
  // A killed peer stops beating at once: name it rather than guess.
  std::string peer = peers.size() == 1 ? describe_ranks(peers) : "a peer";
  std::string why =
      " stopped or did not answer within " + std::to_string(options_.timeout.count() / 1000) + " s";
  if (impl_->heartbeat) {
    const auto silent = impl_->heartbeat->silent(peers, 6 * kHeartbeatInterval);
    if (!silent.empty()) {
      peer = describe_ranks(silent);
      why = silent.size() == 1 ? " stopped (no heartbeat)" : " stopped (no heartbeats)";
    }
  }
  std::string where = "rank " + std::to_string(global_rank());
  if (impl_->members.empty()) {
    where += " of " + std::to_string(options_.world_size);
  } else {
    where.append(" in the group of ").append(describe_ranks(impl_->members));
  }
  throw CollectiveError(where + ": " + what + " failed: " + first_line(e.what()) + " (" + peer +
                        why + ")");
}

void DistributedContext::all_reduce_sum(std::vector<at::Tensor>& tensors) {
  if (!impl_->backend) return;
  try {
    std::vector<c10::intrusive_ptr<c10d::Work>> pending;
    pending.reserve(tensors.size());
    for (auto& t : tensors) {
      std::vector<at::Tensor> one{t};
      pending.push_back(impl_->backend->allreduce(one));
    }
    for (auto& work : pending) impl_->wait(*work, options_.timeout);
  } catch (const std::exception& e) {
    fail("all-reduce", e);
  }
}

void DistributedContext::start_all_reduce_sum(const at::Tensor& tensor) {
  if (!impl_->backend) return;
  try {
    std::vector<at::Tensor> one{tensor};
    auto work = impl_->backend->allreduce(one);
    const std::lock_guard lock(impl_->started_mutex);
    impl_->started.push_back(std::move(work));
  } catch (const std::exception& e) {
    fail("all-reduce", e);
  }
}

void DistributedContext::wait_started() {
  if (!impl_->backend) return;
  std::vector<c10::intrusive_ptr<c10d::Work>> started;
  {
    const std::lock_guard lock(impl_->started_mutex);
    started.swap(impl_->started);
  }
  try {
    for (auto& work : started) impl_->wait(*work, options_.timeout);
  } catch (const std::exception& e) {
    fail("all-reduce", e);
  }
}

void DistributedContext::all_reduce_sum(at::Tensor& tensor) {
  std::vector<at::Tensor> one{tensor};
  all_reduce_sum(one);
}

bool rank0_decides(DistributedContext& context, bool value) {
  auto flag = at::zeros({1}, at::TensorOptions().dtype(at::kFloat).device(context.device()));
  if (context.is_main()) flag.fill_(value ? 1 : 0);
  context.broadcast(flag);
  return flag.cpu().item<float>() > 0.5f;
}

void DistributedContext::broadcast(at::Tensor& tensor, int root) {
  if (!impl_->backend) return;
  try {
    std::vector<at::Tensor> one{tensor};
    c10d::BroadcastOptions opts;
    opts.rootRank = root;
    impl_->wait(*impl_->backend->broadcast(one, opts), options_.timeout);
  } catch (const std::exception& e) {
    fail("broadcast", e);
  }
}

std::string DistributedContext::broadcast_string(const std::string& value, int root) {
  if (!impl_->backend) return value;
  const auto on_device = at::TensorOptions().device(device_);
  auto length = at::full({1}, static_cast<std::int64_t>(value.size()), on_device.dtype(at::kLong));
  broadcast(length, root);
  const auto n = length.cpu().item<std::int64_t>();
  auto bytes = at::empty({n}, at::TensorOptions().dtype(at::kByte));
  if (rank() == root && n > 0) std::memcpy(bytes.data_ptr(), value.data(), value.size());
  auto moved = bytes.to(device_);
  broadcast(moved, root);
  bytes = moved.cpu().contiguous();
  return std::string(static_cast<const char*>(bytes.data_ptr()), static_cast<std::size_t>(n));
}

void DistributedContext::send(const at::Tensor& tensor, int peer, int tag) {
  if (!impl_->backend) throw InternalError("send: a world of one has no peer");
  try {
    std::vector<at::Tensor> one{tensor.contiguous()};
    impl_->sends.push_back(impl_->backend->send(one, peer, tag));
    impl_->sending.push_back(one.front());
  } catch (const std::exception& e) {
    fail("send to rank " + std::to_string(peer), e);
  }
}

void DistributedContext::wait_sends() {
  if (!impl_->backend) return;
  auto sends = std::move(impl_->sends);
  impl_->sends.clear();
  try {
    for (auto& work : sends) impl_->wait(*work, options_.timeout);
  } catch (const std::exception& e) {
    fail("send", e);
  }
  impl_->sending.clear();
}

void DistributedContext::recv(at::Tensor& tensor, int peer, int tag) {
  if (!impl_->backend) throw InternalError("recv: a world of one has no peer");
  try {
    std::vector<at::Tensor> one{tensor};
    impl_->wait(*impl_->backend->recv(one, peer, tag), options_.timeout);
  } catch (const std::exception& e) {
    fail("receive from rank " + std::to_string(peer), e);
  }
}

void DistributedContext::barrier() {
  if (!impl_->backend) return;
  // An all-reduce of one element: unlike Gloo's barrier it honours the timeout on every backend.
  auto token = at::ones({1}, at::TensorOptions().dtype(at::kFloat).device(device_));
  all_reduce_sum(token);
}

}  // namespace nasforge::trainer::distributed
