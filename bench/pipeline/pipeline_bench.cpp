// pipeline_bench: training throughput (images/s) of one network cut into pipeline stages over
// ranks (CPU/Gloo, one LibTorch thread per rank, GPipe micro-batches) against the whole network
// on one process with 1 thread and with as many threads as there are stages: the same network,
// batch, micro-batches and steps, measured side by side in one run.
//
//   pipeline_bench [--stages S] [--steps N] [--batch B] [--micro-batches M] [--width W]
//
// Without RANK in the environment it is the driver: it launches itself as 1 rank with 1 thread,
// as 1 rank with S threads, then as S ranks, and prints the three and the ratios.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/utils.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "bench/common/bench_cli.h"
#include "space/block_space.h"
#include "trainer/distributed/launcher.h"
#include "trainer/distributed/pipeline_stage.h"
#include "trainer/sgd.h"

using namespace nasforge;
namespace dist = nasforge::trainer::distributed;

namespace {

struct Args {
  int stages = 2;
  int steps = 20;
  int batch = 128;
  int micro_batches = 8;
  int width = 32;   // the first stage's width; each further stage doubles it
  int threads = 1;  // LibTorch threads of each rank (set by the driver)
  std::string out;  // where rank 0 writes its images/s (set by the driver)
};

constexpr const char* kAbout =
    "Training throughput of one network as pipeline stages over ranks vs on one process";

void add_flags(CLI::App& app, Args& a) {
  bench::add_positive(app, "--stages", a.stages, "pipeline stages (ranks)");
  bench::add_positive(app, "--steps", a.steps, "timed steps (after 2 warm-up steps)");
  bench::add_positive(app, "--batch", a.batch, "batch size");
  bench::add_positive(app, "--micro-batches", a.micro_batches, "micro-batches per batch");
  bench::add_positive(app, "--width", a.width, "width of the first of three ResNet stages");
  bench::add_positive(app, "--threads", a.threads, "LibTorch threads per rank (set by the driver)");
  app.add_option("--out", a.out, "where rank 0 writes its images/s (set by the driver)");
}

// One rank: its stage of the network, `steps` timed GPipe steps on synthetic 28x28 images.
int rank_main(const Args& a) {
  at::set_num_threads(a.threads);
  const auto options = dist::DistributedOptions::from_environment();
  dist::DistributedContext context(options, c10::Device(c10::kCPU));
  const auto w = std::to_string(a.width);
  const auto w2 = std::to_string(2 * a.width);
  const auto w4 = std::to_string(4 * a.width);
  space::BlockSpace space(nlohmann::json::parse(R"({"type": "blocks", "stem_width": )" + w +
                                                R"(, "stages": [
    {"block": ["basic"], "depth": [2], "width": [)" +
                                                w + R"(]},
    {"block": ["basic"], "depth": [2], "width": [)" +
                                                w2 + R"(]},
    {"block": ["basic"], "depth": [2], "width": [)" +
                                                w4 + R"(]}]})"));
  const auto arch =
      space.parse("basic-d2-w" + w + "-k3/basic-d2-w" + w2 + "-k3/basic-d2-w" + w4 + "-k3");
  torch::manual_seed(1);
  auto network = space::build_network(space, arch, {1, 28, 28}, 10);
  network->train();
  const auto pieces = dist::block_network_pieces(*network);
  const auto bounds = dist::partition_balanced(
      dist::piece_costs(pieces, dist::StageBalance::kFlops, {1, 28, 28}), context.world_size());
  dist::PipelineOptions pipeline;
  pipeline.micro_batches = a.micro_batches;
  dist::PipelineStage stage(context, pieces, bounds, pipeline);
  trainer::FusedSgd sgd(stage.parameters(), trainer::SgdOptions{});
  const auto images = at::randn({a.batch, 1, 28, 28});
  const auto labels = at::randint(10, {a.batch}, at::TensorOptions().dtype(at::kLong));
  auto step = [&] {
    sgd.zero_grad();
    stage.train_step(stage.is_first() ? images : at::Tensor(), labels);
    sgd.step(0.01);
  };
  for (int i = 0; i < 2; ++i) step();
  context.barrier();
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < a.steps; ++i) step();
  context.barrier();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (context.is_main()) {
    std::ofstream(a.out) << static_cast<double>(a.batch) * a.steps / seconds << "\n";
  }
  return 0;
}

double run_ranks(const std::string& self, const Args& a, int nproc, int threads) {
  const auto out = std::filesystem::temp_directory_path() /
                   ("pipeline_bench_" + std::to_string(::getpid()) + "_" + std::to_string(nproc));
  dist::LaunchSpec spec;
  spec.program = self;
  spec.nproc = nproc;
  spec.args = {
      "--steps",         std::to_string(a.steps),         "--batch", std::to_string(a.batch),
      "--micro-batches", std::to_string(a.micro_batches), "--width", std::to_string(a.width),
      "--threads",       std::to_string(threads),         "--out",   out.string()};
  dist::check_ranks(dist::launch_local(spec));
  double images_per_second = 0;
  std::ifstream(out) >> images_per_second;
  std::filesystem::remove(out);
  return images_per_second;
}

int run(Args& a) {
  if (std::getenv("RANK") != nullptr) return rank_main(a);
  const auto self = std::filesystem::read_symlink("/proc/self/exe").string();
  const double one_thread = run_ranks(self, a, 1, 1);
  const double threads = run_ranks(self, a, 1, a.stages);
  const double stages = run_ranks(self, a, a.stages, 1);
  std::printf(
      "pipeline_bench: CPU/Gloo, 3 ResNet stages of widths %d/%d/%d on 28x28, batch %d in %d "
      "micro-batches, %d timed steps\n",
      a.width, 2 * a.width, 4 * a.width, a.batch, a.micro_batches, a.steps);
  std::printf("  whole network, 1 process, 1 thread  : %8.1f images/s\n", one_thread);
  std::printf("  whole network, 1 process, %d threads : %8.1f images/s\n", a.stages, threads);
  std::printf("  %d stages on %d ranks, 1 thread each  : %8.1f images/s\n", a.stages, a.stages,
              stages);
  std::printf("  stages / 1 thread: %.2fx; stages / %d threads: %.2fx\n", stages / one_thread,
              a.stages, stages / threads);
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return nasforge::bench::run_main<Args>(argc, argv, "pipeline_bench", kAbout, add_flags, run);
}
