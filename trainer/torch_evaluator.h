#pragma once
// Evaluates an architecture by building its network and training it for real.
#include <memory>

#include "space/search_space.h"
#include "trainer/dataset.h"
#include "trainer/evaluator.h"
#include "trainer/train_config.h"
#include "trainer/trial_runner.h"  // save_weights, load_weights for this header's users

namespace nasforge::trainer {

class TorchEvaluator final : public Evaluator {
 public:
  TorchEvaluator(const space::SearchSpace& space, std::shared_ptr<const DataSplits> data,
                 TrainConfig config);

  std::string type() const override { return "train"; }
  TrialResult evaluate(const space::Architecture& arch, const TrialContext& context) override;

  const DataSplits& data() const { return *data_; }
  const TrainConfig& config() const { return config_; }

 private:
  const space::SearchSpace& space_;
  std::shared_ptr<const DataSplits> data_;
  TrainConfig config_;
};

}  // namespace nasforge::trainer
