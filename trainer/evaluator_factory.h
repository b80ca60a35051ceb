#pragma once
// Makes the evaluator an experiment's "evaluator" object names: "train" (TorchEvaluator on the
// dataset, which it loads once here) or "nb201-table" (the NAS-Bench-201 table).
#include <memory>

#include <nlohmann/json.hpp>

#include "space/search_space.h"
#include "trainer/dataset.h"
#include "trainer/evaluator.h"
#include "trainer/train_config.h"

namespace nasforge::trainer {

struct EvaluatorSetup {
  std::unique_ptr<Evaluator> evaluator;
  // The data it trains on (null for a table), kept so that its report can be recorded without
  // loading it again.
  std::shared_ptr<const DataSplits> data;
};

// `space` must outlive the evaluator. Throws ConfigError / DataError for a bad evaluator object,
// missing data or an unreadable table.
EvaluatorSetup make_evaluator(const nlohmann::json& evaluator, const DatasetSpec& dataset,
                              const TrainConfig& training, const space::SearchSpace& space);

}  // namespace nasforge::trainer
