// A test helper: one rank of a trial trained as pipeline stages (train_pipelined), stage RANK of
// WORLD_SIZE (a world of one without the environment), on the trainer fixtures' synthetic set and
// small block space, seed 9. Writes, under --out PREFIX:
//   PREFIX.epochs   "epoch train_loss train_accuracy val_loss val_accuracy" per epoch trained
//   PREFIX.weights  every parameter and buffer of the whole network after training (float32,
//                   raw, in the network's order)
//   PREFIX.params   the parameters alone (float32, raw)
//   PREFIX.outcome  "epochs stopped_early"
// With --stop-after E, this rank's on_epoch asks to stop after epoch E (only rank 0's counts);
// with --stages S below WORLD_SIZE, the ranks are WORLD_SIZE / S replicas of S stages; --batch
// sets the (global) batch size.
// Errors go to PREFIX.error.
#include <ATen/ATen.h>
#include <torch/utils.h>

#include <fstream>
#include <iomanip>
#include <iostream>

#include "space/modules/network.h"
#include "tests/distributed/worker/float_dump.h"
#include "tests/trainer/fixtures.h"
#include "trainer/distributed/pipeline_training.h"

using namespace nasforge;
namespace dist = nasforge::trainer::distributed;
using nasforge::testing::write_floats;

namespace {

int run(const std::string& out, const dist::PipelineTraining& options, int stop_after, int stages,
        int batch_size) {
  at::set_num_threads(1);
  const auto environment = dist::DistributedOptions::from_environment();
  dist::DistributedContext context(environment, c10::Device(c10::kCPU));
  auto ranks = dist::PipelineRanks::whole(context);
  dist::PipelineGroups groups;
  if (stages > 0 && stages < context.world_size()) {
    std::vector<int> all(static_cast<size_t>(context.world_size()));
    for (int r = 0; r < context.world_size(); ++r) all[static_cast<size_t>(r)] = r;
    groups = dist::make_pipeline_groups(context, all, stages);
    ranks.stages = groups.stages.get();
    ranks.replicas = groups.replicas.get();
  }
  const auto data = testing::synthetic_splits();
  const auto space = testing::small_space();
  auto config = testing::quick_config();
  config.epochs = 2;
  config.batch_size = batch_size;
  const auto arch = space.parse("dense-d1-g4-w8-k3/bottleneck-d1-w16-k3");
  torch::manual_seed(9);
  const auto network = space::build_network(space, arch, data->shape, data->num_classes);
  std::ofstream epochs(out + ".epochs");
  epochs << std::setprecision(17);
  const auto outcome = dist::train_pipelined(
      ranks, *network, *data, config, 9, options, [&](const EpochRecord& record) {
        epochs << record.epoch << " " << record.train_loss << " " << record.train_accuracy << " "
               << record.val_loss << " " << record.val_accuracy << "\n";
        return stop_after == 0 || record.epoch < stop_after;
      });
  std::vector<at::Tensor> state;
  for (const auto& p : network->parameters()) state.push_back(p);
  for (const auto& b : network->buffers()) state.push_back(b);
  write_floats(out + ".weights", state);
  write_floats(out + ".params", network->parameters());
  std::ofstream(out + ".outcome") << outcome.epochs.size() << " " << outcome.stopped_early << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out;
  dist::PipelineTraining options;
  int stop_after = 0;
  int stages = 0;
  int batch_size = 44;  // of the 960 training images: a last batch of 36
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--out" && i + 1 < argc) {
      out = argv[++i];
    } else if (a == "--balance" && i + 1 < argc) {
      options.balance = dist::parse_stage_balance(argv[++i]);
    } else if (a == "--micro-batches" && i + 1 < argc) {
      options.micro_batches = std::stoi(argv[++i]);
    } else if (a == "--stages" && i + 1 < argc) {
      stages = std::stoi(argv[++i]);
    } else if (a == "--batch" && i + 1 < argc) {
      batch_size = std::stoi(argv[++i]);
    } else if (a == "--stop-after" && i + 1 < argc) {
      stop_after = std::stoi(argv[++i]);
    } else {
      std::cerr << "pipeline_trial_worker: unknown argument " << a << "\n";
      return 2;
    }
  }
  if (out.empty()) {
    std::cerr << "pipeline_trial_worker: --out is required\n";
    return 2;
  }
  try {
    return run(out, options, stop_after, stages, batch_size);
  } catch (const std::exception& e) {
    std::ofstream(out + ".error") << e.what() << "\n";
    std::cerr << "pipeline_trial_worker: error: " << e.what() << "\n";
    return 2;
  }
}
