// A test helper: one rank of a trial trained as pipeline stages (train_pipelined), stage RANK of
// WORLD_SIZE (a world of one without the environment), on the trainer fixtures' synthetic set and
// small block space, seed 9. Writes, under --out PREFIX:
//   PREFIX.epochs   "epoch train_loss train_accuracy val_loss val_accuracy" per epoch trained
//   PREFIX.weights  every parameter and buffer of the whole network after training (float32,
//                   raw, in the network's order)
//   PREFIX.outcome  "epochs stopped_early"
// With --stop-after E, this rank's on_epoch asks to stop after epoch E (only rank 0's counts).
// Errors go to PREFIX.error.
#include <ATen/ATen.h>
#include <torch/utils.h>

#include <fstream>
#include <iomanip>
#include <iostream>

#include "space/modules/network.h"
#include "tests/trainer/fixtures.h"
#include "trainer/distributed/pipeline_training.h"

using namespace nasforge;
namespace dist = nasforge::trainer::distributed;

namespace {

void write_floats(const std::string& path, const std::vector<at::Tensor>& tensors) {
  std::vector<at::Tensor> flat;
  for (const auto& t : tensors) flat.push_back(t.detach().reshape({-1}).to(at::kFloat));
  const auto all = at::cat(flat).contiguous();
  std::ofstream f(path, std::ios::binary);
  f.write(static_cast<const char*>(all.data_ptr()), all.numel() * sizeof(float));
}

int run(const std::string& out, const dist::PipelineTraining& options, int stop_after) {
  at::set_num_threads(1);
  const auto environment = dist::DistributedOptions::from_environment();
  dist::DistributedContext context(environment, c10::Device(c10::kCPU));
  const auto data = testing::synthetic_splits();
  const auto space = testing::small_space();
  auto config = testing::quick_config();
  config.epochs = 2;
  config.batch_size = 48;  // the synthetic set's last batch is then smaller
  const auto arch = space.parse("dense-d1-g4-w8-k3/bottleneck-d1-w16-k3");
  torch::manual_seed(9);
  const auto network = space::build_network(space, arch, data->shape, data->num_classes);
  std::ofstream epochs(out + ".epochs");
  epochs << std::setprecision(17);
  const auto outcome = dist::train_pipelined(
      context, *network, *data, config, 9, options, [&](const EpochRecord& record) {
        epochs << record.epoch << " " << record.train_loss << " " << record.train_accuracy << " "
               << record.val_loss << " " << record.val_accuracy << "\n";
        return stop_after == 0 || record.epoch < stop_after;
      });
  std::vector<at::Tensor> state;
  for (const auto& p : network->parameters()) state.push_back(p);
  for (const auto& b : network->buffers()) state.push_back(b);
  write_floats(out + ".weights", state);
  std::ofstream(out + ".outcome") << outcome.epochs.size() << " " << outcome.stopped_early << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out;
  dist::PipelineTraining options;
  int stop_after = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--out" && i + 1 < argc) {
      out = argv[++i];
    } else if (a == "--balance" && i + 1 < argc) {
      options.balance = dist::parse_stage_balance(argv[++i]);
    } else if (a == "--micro-batches" && i + 1 < argc) {
      options.micro_batches = std::stoi(argv[++i]);
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
    return run(out, options, stop_after);
  } catch (const std::exception& e) {
    std::ofstream(out + ".error") << e.what() << "\n";
    std::cerr << "pipeline_trial_worker: error: " << e.what() << "\n";
    return 2;
  }
}
