// scaling_bench: training throughput (images/s) of 1 vs N data-parallel ranks on CPU/Gloo, the
// same model and the same global batch, one LibTorch thread per rank, on synthetic data; and N
// ranks with the gradient all-reduce after backward vs overlapped with it (started from gradient
// hooks, bucket by bucket).
//
//   scaling_bench [--nproc N] [--steps S] [--batch B] [--bucket-kb K]
//
// Without RANK in the environment it is the driver: it launches itself as 1 rank, then as N with
// the all-reduce after backward, then as N overlapped, and prints the three, the scaling
// efficiency (throughput_N / (N * throughput_1)) and the overlapped/after ratio.
#include <ATen/ATen.h>
#include <torch/utils.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

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

// The driver, or one rank when RANK is set (the driver launches itself).
int run(Args& a) {
  if (std::getenv("RANK") != nullptr) return rank_main(a);
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
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return nasforge::bench::run_main<Args>(argc, argv, "scaling_bench", kAbout, add_flags, run);
}
