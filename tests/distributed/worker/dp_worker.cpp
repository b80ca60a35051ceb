// A test helper: trains a small block network on synthetic data, alone (no WORLD_SIZE) or as one
// rank of a data-parallel job, and writes the final parameters (float32, flattened, raw) to --out.
// Errors go to --out + ".error" so that the test can read what a rank said.
//
//   dp_worker --out FILE [--epochs E] [--batch B] [--partition contiguous|hash]
//             [--train-bn] [--die-at-step S] [--no-overlap]
//   dp_worker --out FILE --group-sum G
//
// --group-sum: no training; the ranks form groups of G (new_group) and each writes to --out the
// sum of its group's global ranks, its rank and size in the group.
//
// A rank also writes --out + ".buckets": how many bucket all-reduces its gradient hooks started
// during backward, and how many started after it.
//
// BatchNorm layers are kept in inference mode unless --train-bn: with batch statistics, each rank
// normalises by its own half of the batch (local statistics, as DDP without SyncBatchNorm), so
// data-parallel training is not expected to equal single-process training.
#include <ATen/ATen.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/utils.h>

#include <csignal>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>

#include "common/errors.h"
#include "space/block_space.h"
#include "trainer/distributed/data_parallel.h"
#include "trainer/training_loop.h"

using namespace nasforge;
namespace dist = nasforge::trainer::distributed;

namespace {

class InferenceBatchNorm : public space::Network {
 public:
  explicit InferenceBatchNorm(std::shared_ptr<space::Network> inner)
      : inner_(register_module("inner", std::move(inner))) {}
  torch::Tensor forward(torch::Tensor x) override { return inner_->forward(x); }
  void train(bool on) override {
    torch::nn::Module::train(on);
    for (auto& m : modules()) {
      if (dynamic_cast<torch::nn::BatchNorm2dImpl*>(m.get()) != nullptr) m->eval();
    }
  }

 private:
  std::shared_ptr<space::Network> inner_;
};

// Kills its own process at a given step: a peer that dies mid-trial.
class DyingHooks : public dist::DataParallelHooks {
 public:
  DyingHooks(dist::DistributedContext& c, space::Network& n, std::uint64_t seed,
             const dist::DataParallelOptions& o, int die_at)
      : DataParallelHooks(c, n, seed, o), die_at_(die_at) {}
  void after_backward(space::Network& n, std::int64_t local, std::int64_t global) override {
    if (++steps_ == die_at_) std::raise(SIGKILL);
    DataParallelHooks::after_backward(n, local, global);
  }

 private:
  int die_at_;
  int steps_ = 0;
};

trainer::DataSplits synthetic() {
  trainer::DataSplits d;
  d.train = trainer::make_synthetic(256, 1, 12, 4, 7);
  d.validation = trainer::make_synthetic(64, 1, 12, 4, 8);
  d.num_classes = 4;
  d.shape = {1, 12, 12};
  d.mean = {0.5f};
  d.std = {0.25f};
  return d;
}

int run(int argc, char** argv) {
  std::string out, partition = "contiguous";
  int epochs = 2, batch = 32, die_at = 0, group_sum = 0;
  bool train_bn = false, overlap = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw ConfigError(a + " needs a value");
      return argv[++i];
    };
    if (a == "--out")
      out = value();
    else if (a == "--epochs")
      epochs = std::stoi(value());
    else if (a == "--batch")
      batch = std::stoi(value());
    else if (a == "--partition")
      partition = value();
    else if (a == "--die-at-step")
      die_at = std::stoi(value());
    else if (a == "--group-sum")
      group_sum = std::stoi(value());
    else if (a == "--train-bn")
      train_bn = true;
    else if (a == "--no-overlap")
      overlap = false;
    else
      throw ConfigError("unknown argument " + a);
  }
  if (out.empty()) throw ConfigError("--out is required");
  try {
    at::set_num_threads(1);
    const auto options = dist::DistributedOptions::from_environment();
    if (group_sum > 0) {
      dist::DistributedContext world(options, c10::Device(c10::kCPU));
      std::vector<int> ranks;
      const int first = options.rank / group_sum * group_sum;
      for (int r = first; r < first + group_sum; ++r) ranks.push_back(r);
      const auto group = world.new_group(ranks);
      auto value = at::full({1}, static_cast<double>(group->global_rank()),
                            at::TensorOptions().dtype(at::kDouble));
      group->all_reduce_sum(value);
      std::ofstream(out) << value.item<double>() << " " << group->rank() << " "
                         << group->world_size() << "\n";
      return 0;
    }
    const auto data = synthetic();
    space::BlockSpace space(nlohmann::json::parse(R"({"type": "blocks", "stem_width": 8, "stages": [
      {"block": ["basic"], "depth": [1], "width": [8]},
      {"block": ["bottleneck"], "depth": [1], "width": [16]}]})"));
    trainer::TrainConfig config;
    config.epochs = epochs;
    config.batch_size = batch;  // the global batch
    config.learning_rate = 0.05;
    config.crop_padding = 2;
    config.flip = 1;
    config.device = "cpu";
    const std::uint64_t seed = 11;
    torch::manual_seed(seed);
    std::shared_ptr<space::Network> network = space::build_network(
        space, space.parse("basic-d1-w8-k3/bottleneck-d1-w16-k3"), data.shape, data.num_classes);
    if (!train_bn) network = std::make_shared<InferenceBatchNorm>(network);
    std::optional<dist::DistributedContext> context;
    std::unique_ptr<dist::DataParallelHooks> hooks;
    if (options.world_size > 1) {
      context.emplace(options, c10::Device(c10::kCPU));
      dist::DataParallelOptions dp;
      dp.partition = partition == "hash" ? dist::Partition::kHash : dist::Partition::kContiguous;
      dp.bucket_bytes = 4096;  // several buckets even for this small network
      dp.overlap = overlap;
      hooks = std::make_unique<DyingHooks>(*context, *network, seed, dp, die_at);
    }
    trainer::train_network(*network, data, config, c10::Device(c10::kCPU), seed, {}, {},
                           hooks.get());
    std::vector<at::Tensor> flat;
    for (auto& p : network->parameters()) flat.push_back(p.detach().reshape({-1}).to(at::kFloat));
    auto all = at::cat(flat).contiguous();
    std::ofstream f(out, std::ios::binary);
    f.write(static_cast<const char*>(all.data_ptr()), all.numel() * sizeof(float));
    if (hooks) {
      std::ofstream(out + ".buckets") << hooks->gradient_sync().started_in_backward() << " "
                                      << hooks->gradient_sync().started_after_backward() << "\n";
    }
    return 0;
  } catch (const std::exception& e) {
    std::ofstream(out + ".error") << e.what() << "\n";
    std::cerr << "dp_worker: error: " << e.what() << "\n";
    return 2;
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "dp_worker: " << e.what() << "\n";
    return 2;
  }
}
