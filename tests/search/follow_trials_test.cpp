#include "tests/nasforge_catch.h"

#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include <chrono>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "search/distributed_trials.h"
#include "trainer/distributed/heartbeat.h"
#include "trainer/distributed/launcher.h"

using namespace nasforge;
namespace dist = nasforge::trainer::distributed;

namespace {

// What a rank evaluates: the trials it was given, in order.
class Recording final : public trainer::Evaluator {
 public:
  std::string type() const override { return "recording"; }
  TrialResult evaluate(const space::Architecture& arch,
                       const trainer::TrialContext& context) override {
    const std::lock_guard lock(mutex_);
    trials.push_back(context);
    canonicals.push_back(arch.canonical());
    return TrialResult{};
  }
  std::vector<trainer::TrialContext> trials;
  std::vector<std::string> canonicals;

 private:
  std::mutex mutex_;
};

// A job's store served in this process, as rank 0 serves it, and a world of one to follow with.
struct Job {
  int port = dist::free_port();
  c10::intrusive_ptr<c10d::TCPStore> server;
  dist::DistributedContext world{dist::DistributedOptions{}, c10::Device(c10::kCPU)};
  std::unique_ptr<space::SearchSpace> space = space::make_search_space({{"type", "nb201"}});

  Job() {
    c10d::TCPStoreOptions options;
    options.port = static_cast<std::uint16_t>(port);
    options.isServer = true;
    options.waitWorkers = false;
    server = c10::make_intrusive<c10d::TCPStore>("127.0.0.1", options);
  }
  std::unique_ptr<dist::StoreClient> client() {
    return dist::StoreClient::connect("127.0.0.1", port, std::chrono::seconds(5));
  }
};

constexpr std::chrono::milliseconds kTimeout{400};
constexpr std::chrono::milliseconds kPoll{5};

}  // namespace

TEST_CASE("a follower waits past the timeout for the next trial while rank 0 beats",
          "[search][distributed]") {
  Job job;
  const dist::Heartbeat master(job.client(), 0, std::chrono::milliseconds(20));
  Recording leads, follows;
  search::TrialLeader leader(job.world, job.client(), *job.space, leads, kTimeout);
  auto store = job.client();
  auto followed = std::async(std::launch::async, [&] {
    return search::follow_trials(job.world, *store, *job.space, follows, kTimeout, kPoll);
  });
  // Rank 0 busy alone between trials for several timeouts: the follower keeps waiting.
  std::this_thread::sleep_for(4 * kTimeout);
  REQUIRE(followed.wait_for(std::chrono::seconds(0)) == std::future_status::timeout);
  const auto arch = job.space->make(std::vector<int>(job.space->decisions().size(), 1));
  for (int i = 0; i < 2; ++i) {
    trainer::TrialContext trial;
    trial.trial_id = 10 + i;
    trial.seed = 77 + static_cast<std::uint64_t>(i);
    trial.hparams = {{"learning_rate", 0.5 * (i + 1)}};
    leader.evaluate(arch, trial);
    std::this_thread::sleep_for(2 * kTimeout);
  }
  leader.finish();
  leader.finish();  // idempotent
  REQUIRE(followed.get() == 2);
  REQUIRE(follows.trials.size() == 2);
  for (int i = 0; i < 2; ++i) {
    CHECK(follows.trials[i].trial_id == 10 + i);
    CHECK(follows.trials[i].seed == 77 + static_cast<std::uint64_t>(i));
    CHECK(follows.trials[i].hparams == leads.trials[i].hparams);
    CHECK(follows.canonicals[i] == arch.canonical());
  }
}

TEST_CASE("a follower stops naming rank 0 when its heartbeat stops or it leaves",
          "[search][distributed]") {
  Job job;
  Recording follows;
  auto store = job.client();
  SECTION("silent") {
    // Rank 0 never beats (killed, or hung with its store served elsewhere, as under torchrun).
    const auto started = std::chrono::steady_clock::now();
    CHECK_THROWS_MATCHES(
        search::follow_trials(job.world, *store, *job.space, follows, kTimeout, kPoll),
        CollectiveError,
        Catch::Message("rank 0 of 1: waiting for rank 0's next trial failed: rank 0 stopped (no "
                       "heartbeat for 0.4 s)"));
    CHECK(std::chrono::steady_clock::now() - started >= kTimeout);
  }
  SECTION("left") {
    { const dist::Heartbeat master(job.client(), 0, std::chrono::milliseconds(20)); }
    CHECK_THROWS_MATCHES(
        search::follow_trials(job.world, *store, *job.space, follows, kTimeout, kPoll),
        CollectiveError,
        Catch::Message("rank 0 of 1: waiting for rank 0's next trial failed: rank 0 left without "
                       "ending the search (see its own error)"));
  }
  CHECK(follows.trials.empty());
}
