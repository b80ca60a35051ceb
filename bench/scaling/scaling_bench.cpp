// scaling_bench: training throughput (images/s) of 1 vs N data-parallel ranks on CPU/Gloo, the
// same model and the same global batch, one LibTorch thread per rank, on synthetic data; and N
// ranks with the gradient all-reduce after backward vs overlapped with it (started from gradient
// hooks, bucket by bucket).
//
//   scaling_bench [--nproc N] [--steps S] [--batch B] [--bucket-kb K]
//                 [--part all|throughput|groups] [--trials T] [--epochs E]
//
// Without RANK in the environment it is the driver: it launches itself as 1 rank, then as N with
// the all-reduce after backward, then as N overlapped, and prints the three, the scaling
// efficiency (throughput_N / (N * throughput_1)) and the overlapped/after ratio.
//
// Trial groups: the real `nasforge launch --nproc 4 --group-size G` searches the same fixed set
// of small trials (a random controller with a fixed seed proposes the same architectures whatever
// the results) as 4x1, 2x2 and 1x4, and prints trials per hour of each, side by side, from the
// search's own wall time (rank 0's search loop, without process start and data loading).
#include <ATen/ATen.h>
#include <torch/utils.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <string>
#include <vector>

#include "bench/common/bench_cli.h"
#include "space/block_space.h"
#include "trainer/distributed/data_parallel.h"
#include "trainer/distributed/launcher.h"
#include "trainer/training_loop.h"

using namespace nasforge;
namespace dist = nasforge::trainer::distributed;

namespace {

struct Args {
  int nproc = 2;
  int steps = 30;
  int batch = 128;
  int bucket_kb = 64;  // this network's gradients are ~100 KB: several buckets to overlap
  bool overlap = true;
  std::string out;
  std::string part = "all";
  int trials = 8;
  int epochs = 1;
};

constexpr const char* kAbout = "Training throughput of 1 vs N data-parallel ranks on CPU/Gloo";

void add_flags(CLI::App& app, Args& a) {
  bench::add_positive(app, "--nproc", a.nproc, "data-parallel ranks compared with one");
  bench::add_positive(app, "--steps", a.steps, "timed steps (after 3 warm-up steps)");
  bench::add_positive(app, "--batch", a.batch, "global batch size");
  bench::add_positive(app, "--bucket-kb", a.bucket_kb, "gradient bucket size in KiB");
  app.add_option("--out", a.out, "where a rank writes its images/s (set by the driver)");
  app.add_option("--overlap", a.overlap,
                 "overlap the all-reduce with backward (set by the driver)");
  app.add_option("--part", a.part, "all, throughput or groups (trials per hour of 4 ranks)")
      ->check(CLI::IsMember({"all", "throughput", "groups"}));
  bench::add_positive(app, "--trials", a.trials, "trials of the trial-group comparison");
  bench::add_positive(app, "--epochs", a.epochs, "epochs of each of those trials");
}

// One rank: trains `steps` steps (after 3 warm-up steps) and rank 0 writes images/s to --out.
int rank_main(const Args& a) {
  at::set_num_threads(1);
  const auto options = dist::DistributedOptions::from_environment();
  trainer::DataSplits data;
  data.train = trainer::make_synthetic(4096, 1, 28, 10, 1);
  data.validation = trainer::make_synthetic(64, 1, 28, 10, 2);
  data.num_classes = 10;
  data.shape = {1, 28, 28};
  data.mean = {0.5f};
  data.std = {0.25f};
  space::BlockSpace space(nlohmann::json::parse(R"({"type": "blocks", "stem_width": 16, "stages": [
    {"block": ["basic"], "depth": [1], "width": [16]},
    {"block": ["basic"], "depth": [1], "width": [32]}]})"));
  trainer::TrainConfig config;
  config.batch_size = a.batch;
  config.epochs = 100;
  config.device = "cpu";
  torch::manual_seed(1);
  auto network = space::build_network(space, space.parse("basic-d1-w16-k3/basic-d1-w32-k3"),
                                      data.shape, data.num_classes);
  dist::DistributedContext context(options, c10::Device(c10::kCPU));
  dist::DataParallelOptions dp;
  dp.bucket_bytes = static_cast<std::size_t>(a.bucket_kb) << 10;
  dp.overlap = a.overlap;
  dist::DataParallelHooks hooks(context, *network, 1, dp);
  trainer::TrainingSession session(*network, data, config, c10::Device(c10::kCPU), 1, {},
                                   options.world_size > 1 ? &hooks : nullptr);
  session.run_steps(3);
  context.barrier();
  const auto started = std::chrono::steady_clock::now();
  session.run_steps(a.steps);
  context.barrier();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (context.is_main()) {
    std::ofstream(a.out) << static_cast<double>(a.batch) * a.steps / seconds << "\n";
  }
  return 0;
}

double run_ranks(const std::string& self, const Args& a, int nproc, bool overlap) {
  const auto out = std::filesystem::temp_directory_path() /
                   ("scaling_bench_" + std::to_string(::getpid()) + "_" + std::to_string(nproc));
  dist::LaunchSpec spec;
  spec.program = self;
  spec.nproc = nproc;
  spec.args = {"--steps",     std::to_string(a.steps),
               "--batch",     std::to_string(a.batch),
               "--bucket-kb", std::to_string(a.bucket_kb),
               "--overlap",   overlap ? "true" : "false",
               "--out",       out.string()};
  dist::check_ranks(dist::launch_local(spec));
  double images_per_second = 0;
  std::ifstream(out) >> images_per_second;
  std::filesystem::remove(out);
  return images_per_second;
}

struct GroupRun {
  double search_seconds = 0;  // rank 0's search loop, as the run's summary prints it
  int completed = 0;
  std::string output;
};

// `nasforge launch --nproc 4 --group-size G` on the fixed experiment; the summary gives the time.
GroupRun run_groups(const std::filesystem::path& dir, const std::string& config, int group_size) {
  const auto db = dir / ("groups_" + std::to_string(group_size) + ".db");
  const std::string command = std::string(NASFORGE_BINARY) + " launch --nproc 4 --group-size " +
                              std::to_string(group_size) + " " + config + " --db " + db.string() +
                              " 2>&1";
  GroupRun run;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("cannot run " + command);
  char buffer[4096];
  std::size_t n = 0;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) run.output.append(buffer, n);
  if (pclose(pipe) != 0) throw std::runtime_error(command + " failed:\n" + run.output);
  std::smatch m;
  if (!std::regex_search(run.output, m, std::regex("wall time ([0-9.]+) s"))) {
    throw std::runtime_error("no wall time in the output of " + command + ":\n" + run.output);
  }
  run.search_seconds = std::stod(m[1]);
  const std::regex completed("\\n +[0-9]+ +completed ");
  run.completed = static_cast<int>(
      std::distance(std::sregex_iterator(run.output.begin(), run.output.end(), completed),
                    std::sregex_iterator()));
  return run;
}

void compare_groups(const Args& a) {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("scaling_bench_groups_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto config = (dir / "trials.json").string();
  std::ofstream(config) << R"({"name": "groups", "seed": 3,
    "space": {"type": "blocks", "stem_width": 8, "stages": [
      {"block": ["basic", "bottleneck", "dense"], "depth": [1], "width": [8, 12], "growth_rate": [4]},
      {"block": ["basic", "dense"], "depth": [1], "width": [16], "growth_rate": [4, 8]}]},
    "controller": {"type": "random"},
    "dataset": {"name": "fashion-mnist", "path": "/usr/share/datasets/fashion-mnist",
                "validation_fraction": 0.02, "train_subset": 2048},
    "training": {"batch_size": 64, "learning_rate": 0.05, "device": "cpu", "threads": 1,
                 "epochs": )"
                        << a.epochs << R"(},
    "budget": {"trials": )"
                        << a.trials << "}}\n";
  std::printf(
      "trial groups: 4 ranks (CPU/Gloo, 1 thread each), %d trials of %d epoch(s) on 2048 "
      "Fashion-MNIST images, the same architectures in each layout\n",
      a.trials, a.epochs);
  std::printf("  %-7s %-15s %10s %12s %10s\n", "layout", "trials at once", "search s",
              "trials/hour", "completed");
  std::fflush(stdout);
  for (const int g : {1, 2, 4}) {
    const auto run = run_groups(dir, config, g);
    std::printf("  %dx%-5d %-15d %10.1f %12.0f %7d/%d\n", 4 / g, g, 4 / g, run.search_seconds,
                3600.0 * a.trials / run.search_seconds, run.completed, a.trials);
    std::fflush(stdout);
  }
  std::filesystem::remove_all(dir);
}

// The driver, or one rank when RANK is set (the driver launches itself).
int run(Args& a) {
  if (std::getenv("RANK") != nullptr) return rank_main(a);
  if (a.part == "groups") {
    compare_groups(a);
    return 0;
  }
  const auto self = std::filesystem::read_symlink("/proc/self/exe").string();
  const double one = run_ranks(self, a, 1, false);
  const double many = run_ranks(self, a, a.nproc, false);
  const double overlapped = run_ranks(self, a, a.nproc, true);
  std::printf("scaling_bench: CPU/Gloo, global batch %d, %d timed steps, 1 thread per rank\n",
              a.batch, a.steps);
  std::printf("  1 rank : %9.1f images/s\n", one);
  std::printf("  %d ranks: %9.1f images/s (all-reduce after backward)\n", a.nproc, many);
  std::printf("  %d ranks: %9.1f images/s (all-reduce overlapped, %d KiB buckets)\n", a.nproc,
              overlapped, a.bucket_kb);
  std::printf("  overlapped / after: %.3f\n", overlapped / many);
  std::printf("  scaling efficiency: %.1f%% (speed-up %.2fx of %d)\n",
              100.0 * many / (a.nproc * one), many / one, a.nproc);
  std::fflush(stdout);
  if (a.part == "all") compare_groups(a);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return nasforge::bench::run_main<Args>(argc, argv, "scaling_bench", kAbout, add_flags, run);
}
