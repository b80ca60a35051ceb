#include "tests/nasforge_catch.h"

#include <ATen/ATen.h>

#include <cmath>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>

#include "common/errors.h"
#include "tests/distributed/rank_files.h"
#include "tests/distributed/rank_workers.h"
#include "trainer/distributed/gradient_sync.h"
#include "trainer/distributed/launcher.h"
#include "trainer/distributed/process_group.h"
#include "trainer/distributed/sampler.h"

using namespace nasforge;
namespace dist = nasforge::trainer::distributed;
namespace fs = std::filesystem;
using namespace nasforge::testing;

namespace {

std::vector<dist::RankExit> run_worker(int nproc, const fs::path& dir,
                                       const std::vector<std::string>& extra) {
  return launch_rank_workers(NASFORGE_DP_WORKER, nproc, dir, extra);
}

struct EnvGuard {
  std::vector<std::string> names;
  explicit EnvGuard(std::vector<std::string> n) : names(std::move(n)) {
    for (auto& name : names) ::unsetenv(name.c_str());
  }
  ~EnvGuard() {
    for (auto& name : names) ::unsetenv(name.c_str());
  }
};

}  // namespace

TEST_CASE("two Gloo ranks train to the same weights as one process with the same global batch",
          "[distributed]") {
  // What is compared: all parameters after 2 epochs (16 SGD steps with momentum, weight decay,
  // cosine schedule, random crops and flips) of a basic+bottleneck network, global batch 32,
  // one process vs 2 ranks of 16. BatchNorm runs in inference mode (fixed statistics): with batch
  // statistics each rank normalises by its own half-batch, which is not expected to match.
  const auto dir = scratch("equivalence");
  for (const std::string partition : {"contiguous", "hash"}) {
    INFO("partition " << partition);
    fs::create_directories(dir / ("dp_" + partition));
    fs::create_directories(dir / ("single_" + partition));
    const auto single = run_worker(1, dir / ("single_" + partition), {"--partition", partition});
    REQUIRE_NOTHROW(dist::check_ranks(single));
    const auto pair = run_worker(2, dir / ("dp_" + partition), {"--partition", partition});
    INFO(read_text(dir / ("dp_" + partition) / "rank0.error"));
    REQUIRE_NOTHROW(dist::check_ranks(pair));
    const auto reference = read_floats(dir / ("single_" + partition) / "rank0");
    const auto rank0 = read_floats(dir / ("dp_" + partition) / "rank0");
    const auto rank1 = read_floats(dir / ("dp_" + partition) / "rank1");
    CHECK(rank0 == rank1);  // identical all-reduced gradients, identical updates
    CHECK(max_relative_difference(rank0, reference) < 1e-4);
    CHECK(max_relative_difference(rank0, reference) > 0);  // a real second process, not a copy
  }
}

TEST_CASE(
    "all-reduces started from gradient hooks during backward give the same weights as after it",
    "[distributed]") {
  // The overlapped path must be an exact reordering of the same sums: the same buckets, the same
  // weights, so bitwise the same parameters after 2 epochs (16 steps).
  const auto dir = scratch("overlap");
  fs::create_directories(dir / "overlap");
  fs::create_directories(dir / "after");
  const auto overlapped = run_worker(2, dir / "overlap", {});
  INFO(read_text(dir / "overlap" / "rank0.error"));
  REQUIRE_NOTHROW(dist::check_ranks(overlapped));
  const auto after = run_worker(2, dir / "after", {"--no-overlap"});
  INFO(read_text(dir / "after" / "rank0.error"));
  REQUIRE_NOTHROW(dist::check_ranks(after));
  CHECK(read_floats(dir / "overlap" / "rank0") == read_floats(dir / "after" / "rank0"));
  CHECK(read_floats(dir / "overlap" / "rank1") == read_floats(dir / "overlap" / "rank0"));

  // What really happened: with overlap, most buckets began while backward was still running
  // (all but those whose gradients come last); without, every one after it.
  auto counts = [&](const fs::path& file) {
    std::ifstream in(file);
    std::int64_t during = -1, later = -1;
    in >> during >> later;
    return std::pair{during, later};
  };
  for (const char* rank : {"rank0.buckets", "rank1.buckets"}) {
    const auto [during, later] = counts(dir / "overlap" / rank);
    const auto [during_off, later_off] = counts(dir / "after" / rank);
    INFO(rank << ": overlap " << during << "/" << later << ", off " << during_off << "/"
              << later_off);
    CHECK(during_off == 0);
    CHECK(later_off > 0);
    CHECK(during + later == later_off);  // the same buckets, every step
    CHECK(during > later);
  }
}

TEST_CASE("with batch statistics in BatchNorm the ranks still agree with each other",
          "[distributed]") {
  const auto dir = scratch("train_bn");
  const auto pair = run_worker(2, dir, {"--train-bn", "--epochs", "1"});
  REQUIRE_NOTHROW(dist::check_ranks(pair));
  CHECK(read_floats(dir / "rank0") == read_floats(dir / "rank1"));
}

TEST_CASE("a rank that dies makes the other fail within the timeout, naming it", "[distributed]") {
  const auto dir = scratch("peer_death");
  ::setenv("NASFORGE_DIST_TIMEOUT", "20", 1);
  dist::LaunchSpec spec;
  spec.program = NASFORGE_DP_WORKER;
  spec.nproc = 2;
  spec.per_rank_args = {{"--out", (dir / "rank0").string()},
                        {"--out", (dir / "rank1").string(), "--die-at-step", "3"}};
  spec.grace = std::chrono::seconds(60);
  const auto started = std::chrono::steady_clock::now();
  const auto exits = dist::launch_local(spec);
  ::unsetenv("NASFORGE_DIST_TIMEOUT");
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(50));
  CHECK(exits[1].signal == SIGKILL);
  CHECK(exits[0].exit_code == 2);  // failed by itself, not killed by the launcher
  CHECK_FALSE(exits[0].killed_by_launcher);
  CHECK_THAT(read_text(dir / "rank0.error"), Catch::Contains("rank 1"));
  CHECK_THROWS_WITH(dist::check_ranks(exits),
                    Catch::Contains("rank 1") && Catch::Contains("signal 9"));
}

TEST_CASE("of 3 ranks the survivors name the one that died from its silent heartbeat",
          "[distributed]") {
  // With more than one peer the failing collective cannot say who died: the heartbeats do.
  const auto dir = scratch("peer_death_3");
  ::setenv("NASFORGE_DIST_TIMEOUT", "20", 1);
  dist::LaunchSpec spec;
  spec.program = NASFORGE_DP_WORKER;
  spec.nproc = 3;
  spec.per_rank_args = {{"--out", (dir / "rank0").string()},
                        {"--out", (dir / "rank1").string()},
                        {"--out", (dir / "rank2").string(), "--die-at-step", "3"}};
  spec.grace = std::chrono::seconds(60);
  const auto exits = dist::launch_local(spec);
  ::unsetenv("NASFORGE_DIST_TIMEOUT");
  CHECK(exits[2].signal == SIGKILL);
  for (int r : {0, 1}) {
    INFO("rank " << r << ": " << read_text(dir / ("rank" + std::to_string(r) + ".error")));
    CHECK(exits[r].exit_code == 2);  // an error, not a crash signal
    CHECK_FALSE(exits[r].killed_by_launcher);
    CHECK_THAT(read_text(dir / ("rank" + std::to_string(r) + ".error")),
               Catch::Contains("(rank 2 stopped (no heartbeat))") &&
                   Catch::StartsWith("rank " + std::to_string(r) + " of 3"));
  }
}

TEST_CASE("new_group: 4 ranks as 2 subgroups sum over their own group only", "[distributed]") {
  const auto dir = scratch("subgroups");
  const auto exits = run_worker(4, dir, {"--group-sum", "2"});
  REQUIRE_NOTHROW(dist::check_ranks(exits));
  // Ranks 0 and 1 sum to 1, ranks 2 and 3 to 5: no value crossed groups.
  const char* expected[] = {"1 0 2\n", "1 1 2\n", "5 0 2\n", "5 1 2\n"};
  for (int r = 0; r < 4; ++r) {
    CHECK(read_text(dir / ("rank" + std::to_string(r))) == expected[r]);
  }
}

TEST_CASE("with trial groups a failed rank > 0 leaves the others running", "[distributed]") {
  dist::LaunchSpec spec;
  spec.program = "/bin/sh";
  spec.args = {"-c", "if [ \"$RANK\" = 1 ]; then exit 3; fi; sleep 1; test \"$EXTRA\" = yes"};
  spec.nproc = 3;
  spec.grace = std::chrono::milliseconds(100);
  spec.survive_rank_failures = true;
  spec.env = {"EXTRA=yes"};
  const auto exits = dist::launch_local(spec);
  CHECK(exits[1].exit_code == 3);
  CHECK(exits[0].ok());  // not stopped 100 ms after rank 1 failed
  CHECK(exits[2].ok());
  CHECK_FALSE(exits[0].killed_by_launcher);
}

TEST_CASE("the launcher names a failing rank and stops the others", "[distributed]") {
  dist::LaunchSpec spec;
  spec.program = "/bin/sh";
  spec.args = {"-c", "if [ \"$RANK\" = 1 ]; then exit 3; fi; sleep 30"};
  spec.nproc = 3;
  spec.grace = std::chrono::milliseconds(200);
  const auto started = std::chrono::steady_clock::now();
  const auto exits = dist::launch_local(spec);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(10));
  CHECK(exits[1].exit_code == 3);
  CHECK(exits[0].killed_by_launcher);
  CHECK(exits[2].killed_by_launcher);
  CHECK_THROWS_WITH(dist::check_ranks(exits), Catch::StartsWith("launch: rank 1 (pid") &&
                                                  Catch::Contains("exited with code 3"));
}

TEST_CASE("the launcher sets the rendezvous environment of each rank", "[distributed]") {
  dist::LaunchSpec spec;
  spec.program = "/bin/sh";
  spec.args = {"-c",
               "test \"$MASTER_ADDR\" = 127.0.0.1 && test \"$WORLD_SIZE\" = 2 && "
               "test \"$RANK\" = \"$LOCAL_RANK\" && test \"$MASTER_PORT\" -gt 0"};
  spec.nproc = 2;
  CHECK_NOTHROW(dist::check_ranks(dist::launch_local(spec)));
  spec.program = "/nonexistent/nasforge";
  CHECK_THROWS_AS(dist::launch_local(spec), ConfigError);
}

TEST_CASE("sampler parts of a global batch are disjoint and cover it", "[distributed]") {
  const auto batch = at::randperm(37, at::TensorOptions().dtype(at::kLong));
  for (auto partition : {dist::Partition::kContiguous, dist::Partition::kHash}) {
    std::multiset<std::int64_t> seen;
    for (int r = 0; r < 3; ++r) {
      dist::DistributedSampler sampler(r, 3, 5, partition);
      const auto pos = sampler.local_positions(batch);
      for (std::int64_t i = 0; i < pos.size(0); ++i) seen.insert(pos[i].item<std::int64_t>());
      if (partition == dist::Partition::kContiguous) CHECK(std::abs(pos.size(0) - 37 / 3) <= 1);
    }
    CHECK(seen.size() == 37);
    CHECK(std::set<std::int64_t>(seen.begin(), seen.end()).size() == 37);
  }
  dist::DistributedSampler a(0, 2, 5, dist::Partition::kHash), b(0, 2, 5, dist::Partition::kHash);
  CHECK(at::equal(a.local_positions(batch), b.local_positions(batch)));
  CHECK_THROWS_AS(dist::DistributedSampler(2, 2, 0), ConfigError);
}

TEST_CASE("distributed options come from the environment and reject bad values", "[distributed]") {
  EnvGuard guard(
      {"RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT", "NASFORGE_DIST_TIMEOUT"});
  auto one = dist::DistributedOptions::from_environment();
  CHECK(one.world_size == 1);
  CHECK(one.rank == 0);
  ::setenv("WORLD_SIZE", "4", 1);
  ::setenv("RANK", "2", 1);
  CHECK_THROWS_WITH(dist::DistributedOptions::from_environment(), Catch::Contains("MASTER_ADDR"));
  ::setenv("MASTER_ADDR", "10.0.0.1", 1);
  CHECK_THROWS_WITH(dist::DistributedOptions::from_environment(), Catch::Contains("MASTER_PORT"));
  ::setenv("MASTER_PORT", "29511", 1);
  ::setenv("NASFORGE_DIST_TIMEOUT", "5", 1);
  const auto o = dist::DistributedOptions::from_environment();
  CHECK(o.rank == 2);
  CHECK(o.local_rank == 2);
  CHECK(o.master_port == 29511);
  CHECK(o.timeout == std::chrono::seconds(5));
  ::setenv("RANK", "4", 1);
  CHECK_THROWS_AS(dist::DistributedOptions::from_environment(), ConfigError);
  ::setenv("RANK", "x", 1);
  CHECK_THROWS_WITH(dist::DistributedOptions::from_environment(), Catch::Contains("RANK='x'"));
  ::setenv("RANK", "0", 1);
  ::setenv("MASTER_PORT", "70000", 1);
  CHECK_THROWS_AS(dist::DistributedOptions::from_environment(), ConfigError);
}

TEST_CASE("a world of one needs no peers and its collectives return their input", "[distributed]") {
  dist::DistributedContext context(dist::DistributedOptions{}, c10::Device(c10::kCPU));
  CHECK(context.backend_name() == "none");
  CHECK(context.broadcast_string("hello") == "hello");
  auto t = at::ones({3});
  context.all_reduce_sum(t);
  CHECK(t.sum().item<float>() == 3.0f);
  auto options = dist::DistributedOptions{};
  options.rank = 1;
  CHECK_THROWS_AS(dist::DistributedContext(options, c10::Device(c10::kCPU)), ConfigError);
}

TEST_CASE("gradient buckets respect the size cap in reverse parameter order", "[distributed]") {
  dist::DistributedContext context(dist::DistributedOptions{}, c10::Device(c10::kCPU));
  std::vector<at::Tensor> params;
  for (int i = 0; i < 5; ++i) params.push_back(at::zeros({100}).requires_grad_());  // 400 B each
  dist::GradientSync sync(context, params, 1000);
  const auto& buckets = sync.buckets();
  REQUIRE(buckets.size() == 3);
  CHECK(buckets[0] == std::vector<std::size_t>{4, 3});
  CHECK(buckets[1] == std::vector<std::size_t>{2, 1});
  CHECK(buckets[2] == std::vector<std::size_t>{0});
}
