// A test helper: one rank of a pipeline job, stage RANK of WORLD_SIZE stages of pipeline_case's
// network (split by parameter count, or FLOPs with --balance flops), trained for kSteps GPipe
// steps of kMicroBatches micro-batches with FusedSgd on this stage's parameters (batch norm in
// inference mode with --frozen-bn). Writes, under
// --out PREFIX:
//   PREFIX.names    this stage's parameter names, in the network's order, one per line
//   PREFIX.loss     the loss of each step as every rank got it, one per line
//   PREFIX.grads    the gradients of the first step (float32, raw, in .names order)
//   PREFIX.weights  the parameters after the last step (float32, raw, in .names order)
//   PREFIX.eval     "loss correct" of PipelineStage::evaluate on a further batch, in eval mode
// Errors go to PREFIX.error.
#include <ATen/ATen.h>

#include <fstream>
#include <iomanip>
#include <iostream>
#include <set>

#include "common/errors.h"
#include "tests/distributed/worker/float_dump.h"
#include "tests/distributed/worker/pipeline_case.h"
#include "trainer/distributed/pipeline_stage.h"

using namespace nasforge;
namespace dist = nasforge::trainer::distributed;
using nasforge::testing::write_floats;

namespace {

int run(const std::string& out, dist::StageBalance balance, bool frozen_bn) {
  at::set_num_threads(1);
  const auto options = dist::DistributedOptions::from_environment();
  dist::DistributedContext context(options, c10::Device(c10::kCPU));
  auto network = pipeline_case::make_network();
  network->train(!frozen_bn);
  const auto pieces = dist::block_network_pieces(*network);
  space::InputShape input;
  input.channels = 1;
  input.height = 12;
  input.width = 12;
  const auto bounds =
      dist::partition_balanced(dist::piece_costs(pieces, balance, input), context.world_size());
  dist::PipelineOptions pipeline;
  pipeline.micro_batches = pipeline_case::kMicroBatches;
  dist::PipelineStage stage(context, pieces, bounds, pipeline);

  // This stage's parameters under their names in the network.
  std::set<const void*> mine;
  for (const auto& p : stage.parameters()) mine.insert(p.unsafeGetTensorImpl());
  std::vector<at::Tensor> params;
  std::ofstream names(out + ".names");
  for (const auto& named : network->named_parameters()) {
    if (mine.count(named.value().unsafeGetTensorImpl()) == 0) continue;
    names << named.key() << "\n";
    params.push_back(named.value());
  }
  trainer::FusedSgd optimizer(params, pipeline_case::sgd());
  std::ofstream losses(out + ".loss");
  losses << std::setprecision(17);
  for (int step = 0; step < pipeline_case::kSteps; ++step) {
    const auto [images, labels] = pipeline_case::batch(step);
    optimizer.zero_grad();
    const auto result = stage.train_step(images, labels);
    losses << result.loss << "\n";
    if (step == 0) write_floats(out + ".grads", optimizer.gradients());
    optimizer.step(pipeline_case::kLearningRate);
  }
  write_floats(out + ".weights", params);
  // Validation through the stages: a batch not trained on, batch norm on its running statistics.
  network->eval();
  const auto [images, labels] = pipeline_case::batch(pipeline_case::kSteps);
  const auto validation = stage.evaluate(images, labels);
  std::ofstream(out + ".eval") << std::setprecision(17) << validation.loss << " "
                               << validation.correct << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out;
  auto balance = dist::StageBalance::kParameters;
  bool frozen_bn = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--out" && i + 1 < argc) {
      out = argv[++i];
    } else if (a == "--balance" && i + 1 < argc) {
      balance = std::string(argv[++i]) == "flops" ? dist::StageBalance::kFlops
                                                  : dist::StageBalance::kParameters;
    } else if (a == "--frozen-bn") {
      frozen_bn = true;
    } else {
      std::cerr << "pipeline_worker: unknown argument " << a << "\n";
      return 2;
    }
  }
  if (out.empty()) {
    std::cerr << "pipeline_worker: --out is required\n";
    return 2;
  }
  try {
    return run(out, balance, frozen_bn);
  } catch (const std::exception& e) {
    std::ofstream(out + ".error") << e.what() << "\n";
    std::cerr << "pipeline_worker: error: " << e.what() << "\n";
    return 2;
  }
}
