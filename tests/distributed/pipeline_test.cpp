#include "tests/nasforge_catch.h"

#include <ATen/ATen.h>
#include <torch/nn/modules/linear.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <set>

#include "common/errors.h"
#include "space/block_space.h"
#include "tests/distributed/rank_files.h"
#include "tests/distributed/rank_workers.h"
#include "tests/distributed/worker/pipeline_case.h"
#include "trainer/distributed/launcher.h"
#include "trainer/distributed/pipeline_stage.h"

using namespace nasforge;
namespace dist = nasforge::trainer::distributed;
namespace fs = std::filesystem;
using namespace nasforge::testing;
namespace pc = nasforge::pipeline_case;

namespace {

std::vector<std::string> read_lines(const fs::path& path) {
  std::ifstream f(path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(f, line);) lines.push_back(line);
  return lines;
}

std::vector<float> flat(const std::vector<at::Tensor>& tensors) {
  std::vector<float> all;
  for (const auto& t : tensors) {
    const auto c = t.detach().reshape({-1}).to(at::kFloat).contiguous();
    all.insert(all.end(), c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  }
  return all;
}

// The whole network on this process: each step the same micro-batches one after the other,
// gradients accumulated, one FusedSgd step (or, with `whole_batch`, one pass over the batch).
struct Reference {
  std::vector<double> losses;
  std::map<std::string, at::Tensor> first_grads, weights;
  double eval_loss = 0;  // on batch(kSteps), in eval mode, after training
  std::int64_t eval_correct = 0;
};

Reference train_whole(bool frozen_bn, bool whole_batch) {
  at::set_num_threads(1);
  auto network = pc::make_network();
  network->train(!frozen_bn);
  trainer::FusedSgd optimizer(network->parameters(), pc::sgd());
  Reference ref;
  for (int step = 0; step < pc::kSteps; ++step) {
    const auto [images, labels] = pc::batch(step);
    optimizer.zero_grad();
    double loss = 0;
    if (whole_batch) {
      auto l = at::cross_entropy_loss(network->forward(images), labels);
      l.backward();
      loss = l.item<double>();
    } else {
      std::int64_t offset = 0;
      for (const auto n : dist::micro_batch_sizes(pc::kBatch, pc::kMicroBatches)) {
        auto l = at::cross_entropy_loss(network->forward(images.narrow(0, offset, n)),
                                        labels.narrow(0, offset, n)) *
                 (static_cast<double>(n) / pc::kBatch);
        l.backward();
        loss += l.item<double>();
        offset += n;
      }
    }
    ref.losses.push_back(loss);
    if (step == 0) {
      for (const auto& p : network->named_parameters()) {
        ref.first_grads[p.key()] = p.value().grad().clone();
      }
    }
    optimizer.step(pc::kLearningRate);
  }
  for (const auto& p : network->named_parameters()) ref.weights[p.key()] = p.value().clone();
  network->eval();
  const at::NoGradGuard no_grad;
  const auto [images, labels] = pc::batch(pc::kSteps);
  const auto logits = network->forward(images);
  ref.eval_loss = at::cross_entropy_loss(logits, labels).item<double>();
  ref.eval_correct = logits.argmax(1).eq(labels).sum().item<std::int64_t>();
  return ref;
}

std::vector<float> by_names(const std::map<std::string, at::Tensor>& values,
                            const std::vector<std::string>& names) {
  std::vector<at::Tensor> picked;
  for (const auto& name : names) picked.push_back(values.at(name));
  return flat(picked);
}

// Runs `nproc` pipeline_worker ranks (one stage each) and checks every rank's loss, first
// gradients and final weights against `ref`; every parameter must belong to exactly one stage.
void check_pipeline_against(const Reference& ref, int nproc, const fs::path& dir,
                            const std::vector<std::string>& extra) {
  const auto exits = launch_rank_workers(NASFORGE_PIPELINE_WORKER, nproc, dir, extra);
  std::string errors;
  for (int r = 0; r < nproc; ++r)
    errors += read_text(dir / ("rank" + std::to_string(r) + ".error"));
  INFO(errors);
  REQUIRE_NOTHROW(dist::check_ranks(exits));

  std::multiset<std::string> seen;
  for (int r = 0; r < nproc; ++r) {
    const auto prefix = (dir / ("rank" + std::to_string(r))).string();
    INFO("stage " << r);
    const auto names = read_lines(prefix + ".names");
    CHECK_FALSE(names.empty());
    seen.insert(names.begin(), names.end());
    const auto losses = read_lines(prefix + ".loss");
    REQUIRE(losses.size() == ref.losses.size());
    for (size_t s = 0; s < losses.size(); ++s) {
      CHECK(std::stod(losses[s]) == Approx(ref.losses[s]).epsilon(1e-5));
    }
    const auto grads = read_floats(prefix + ".grads");
    const auto expected_grads = by_names(ref.first_grads, names);
    CHECK(max_relative_difference(grads, expected_grads) < 1e-3);
    const auto weights = read_floats(prefix + ".weights");
    CHECK(max_relative_difference(weights, by_names(ref.weights, names)) < 1e-4);
    // A step happened: the weights are not the initial ones.
    auto initial = pc::make_network();
    std::map<std::string, at::Tensor> initial_weights;
    for (const auto& p : initial->named_parameters()) initial_weights[p.key()] = p.value();
    CHECK(max_relative_difference(weights, by_names(initial_weights, names)) > 1e-3);
    // Validation through the stages: the whole trained network's loss and count.
    std::ifstream eval(prefix + ".eval");
    double eval_loss = -1;
    std::int64_t eval_correct = -1;
    eval >> eval_loss >> eval_correct;
    CHECK(eval_loss == Approx(ref.eval_loss).epsilon(1e-4));
    CHECK(eval_correct == ref.eval_correct);
  }
  std::multiset<std::string> all;
  for (const auto& p : pc::make_network()->named_parameters()) all.insert(p.key());
  CHECK(seen == all);
}

// Not a block network: a linear layer only.
class Flat : public space::Network {
 public:
  Flat() { fc_ = register_module("fc", torch::nn::Linear(4, 2)); }
  torch::Tensor forward(torch::Tensor x) override { return fc_(x); }

 private:
  torch::nn::Linear fc_{nullptr};
};

}  // namespace

TEST_CASE("partition_balanced makes consecutive stages whose largest cost is the smallest possible",
          "[distributed]") {
  CHECK(dist::partition_balanced({1, 1, 1, 1}, 2) == std::vector<int>{0, 2, 4});
  CHECK(dist::partition_balanced({10, 1, 1, 1, 1, 1, 1}, 2) == std::vector<int>{0, 1, 7});
  CHECK(dist::partition_balanced({5, 3}, 1) == std::vector<int>{0, 2});
  CHECK(dist::partition_balanced({5, 3, 2}, 3) == std::vector<int>{0, 1, 2, 3});
  // Against every split of random costs into 3 stages.
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> cost(0.0, 10.0);
  for (int trial = 0; trial < 50; ++trial) {
    std::vector<double> costs(7);
    for (auto& c : costs) c = cost(rng);
    auto sum = [&](int a, int b) {
      double s = 0;
      for (int i = a; i < b; ++i) s += costs[i];
      return s;
    };
    double brute = 1e300;
    for (int a = 1; a < 7; ++a) {
      for (int b = a + 1; b < 7; ++b) {
        brute = std::min(brute, std::max({sum(0, a), sum(a, b), sum(b, 7)}));
      }
    }
    const auto bounds = dist::partition_balanced(costs, 3);
    REQUIRE(bounds.size() == 4);
    CHECK(bounds.front() == 0);
    CHECK(bounds.back() == 7);
    double worst = 0;
    for (int s = 0; s < 3; ++s) {
      CHECK(bounds[s] < bounds[s + 1]);
      worst = std::max(worst, sum(bounds[s], bounds[s + 1]));
    }
    CHECK(worst == Approx(brute));
  }
  CHECK_THROWS_AS(dist::partition_balanced({1, 2}, 3), ConfigError);
  CHECK_THROWS_WITH(dist::partition_balanced({1, 2}, 3), Catch::Contains("at most 2 stages"));
  CHECK_THROWS_AS(dist::partition_balanced({1, 2}, 0), ConfigError);
  CHECK_THROWS_AS(dist::micro_batch_sizes(3, 4), ConfigError);
  CHECK(dist::micro_batch_sizes(18, 4) == std::vector<std::int64_t>{5, 5, 4, 4});
}

TEST_CASE("the pieces of a block network applied in order compute its forward pass",
          "[distributed]") {
  auto network = pc::make_network();
  const auto pieces = dist::block_network_pieces(*network);
  std::vector<std::string> names;
  for (const auto& p : pieces) names.push_back(p.name);
  CHECK(names == std::vector<std::string>{"stem", "stage0_block0", "stage0_block1", "stage1_block0",
                                          "stage2", "head"});
  std::size_t params = 0;
  for (const auto& p : pieces) params += p.parameters().size();
  CHECK(params == network->parameters().size());
  network->eval();
  const auto [images, labels] = pc::batch(0);
  auto x = images;
  for (const auto& p : pieces) x = p.forward(x);
  CHECK(at::equal(x, network->forward(images)));

  Flat flat_network;
  CHECK_THROWS_AS(dist::block_network_pieces(flat_network), ConfigError);
  CHECK_THROWS_WITH(dist::block_network_pieces(flat_network),
                    Catch::Contains("only block-space networks"));
}

TEST_CASE("the pieces' FLOPs add up to the network's multiply-adds", "[distributed]") {
  // No strided bottleneck (whose first 1x1 the estimate counts at the lower resolution): exact.
  space::BlockSpace space(nlohmann::json::parse(R"({"type": "blocks", "stem_width": 8, "stages": [
    {"block": ["basic"], "depth": [2], "width": [8]},
    {"block": ["basic"], "depth": [1], "width": [16]},
    {"block": ["dense"], "depth": [2], "width": [16], "growth_rate": [8]}]})"));
  space::InputShape input;
  input.channels = 1;
  input.height = 12;
  input.width = 12;
  auto network = space::build_network(
      space, space.parse("basic-d2-w8-k3/basic-d1-w16-k3/dense-d2-g8-w16-k3"), input, 4);
  network->train();
  const auto pieces = dist::block_network_pieces(*network);
  const auto flops = dist::piece_costs(pieces, dist::StageBalance::kFlops, input);
  double total = 0;
  for (double f : flops) total += f;
  CHECK(total == static_cast<double>(network->flops()));
  CHECK(network->is_training());  // restored after the probe
  const auto counts = dist::piece_costs(pieces, dist::StageBalance::kParameters, input);
  double n = 0;
  for (double c : counts) n += c;
  CHECK(n == static_cast<double>(network->parameter_count()));
  // The stem works at full resolution with few weights: FLOPs weigh it more than parameters do.
  CHECK(flops[0] / total > counts[0] / n);
}

TEST_CASE("a pipeline of one stage is gradient accumulation over its micro-batches",
          "[distributed]") {
  const auto ref = train_whole(false, false);
  auto network = pc::make_network();
  network->train();
  dist::DistributedContext alone(dist::DistributedOptions{}, c10::Device(c10::kCPU));
  const auto pieces = dist::block_network_pieces(*network);
  dist::PipelineOptions options;
  options.micro_batches = pc::kMicroBatches;
  dist::PipelineStage stage(alone, pieces, {0, static_cast<int>(pieces.size())}, options);
  REQUIRE(stage.is_first());
  REQUIRE(stage.is_last());
  trainer::FusedSgd optimizer(network->parameters(), pc::sgd());
  for (int step = 0; step < pc::kSteps; ++step) {
    const auto [images, labels] = pc::batch(step);
    optimizer.zero_grad();
    const auto result = stage.train_step(images, labels);
    CHECK(result.loss == Approx(ref.losses[step]).epsilon(1e-6));
    CHECK(result.examples == pc::kBatch);
    CHECK(result.correct >= 0);
    CHECK(result.correct <= pc::kBatch);
    optimizer.step(pc::kLearningRate);
  }
  std::vector<std::string> names;
  for (const auto& p : network->named_parameters()) names.push_back(p.key());
  CHECK(max_relative_difference(flat(network->parameters()), by_names(ref.weights, names)) < 1e-5);
}

TEST_CASE("two Gloo ranks as two pipeline stages match one process in loss, gradients, weights",
          "[distributed]") {
  // 2 stages balanced by parameters, 4 micro-batches (5, 5, 4, 4) of a batch of 18, 3 steps of
  // SGD with Nesterov momentum and weight decay, batch norm on batch statistics: the same as the
  // whole network on one process over the same micro-batches.
  check_pipeline_against(train_whole(false, false), 2, scratch("two_stages"), {});
}

TEST_CASE("three Gloo ranks as three pipeline stages balanced by FLOPs match one process",
          "[distributed]") {
  // The middle stage both receives activations and sends them on.
  check_pipeline_against(train_whole(false, false), 3, scratch("three_stages"),
                         {"--balance", "flops"});
}

TEST_CASE("with batch norm frozen, two pipeline stages match one pass over the whole batch",
          "[distributed]") {
  check_pipeline_against(train_whole(true, true), 2, scratch("frozen_bn"), {"--frozen-bn"});
}
