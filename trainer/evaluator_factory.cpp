#include "trainer/evaluator_factory.h"

#include "trainer/nb201_table.h"
#include "trainer/torch_evaluator.h"

namespace nasforge::trainer {

EvaluatorSetup make_evaluator(const nlohmann::json& evaluator, const DatasetSpec& dataset,
                              const TrainConfig& training, const space::SearchSpace& space) {
  EvaluatorSetup setup;
  if (evaluator.value("type", "train") == "train") {
    auto data = std::make_shared<const DataSplits>(load_splits(dataset));
    setup.data = data;
    setup.evaluator = std::make_unique<TorchEvaluator>(space, std::move(data), training);
  } else {
    setup.evaluator = Nb201TableEvaluator::from_config(evaluator);
  }
  return setup;
}

}  // namespace nasforge::trainer
