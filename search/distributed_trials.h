#pragma once
// A search on several ranks, one trial data-parallel over all of them: rank 0 owns the
// controller and the store and wraps its evaluator in a TrialLeader; ranks > 0 follow.
#include <string>

#include "space/search_space.h"
#include "trainer/distributed/data_parallel.h"
#include "trainer/evaluator.h"

namespace nasforge::search {

// Running a search on several ranks: rank 0 owns the controller and the store and wraps its
// evaluator in a TrialLeader, which sends each trial (architecture JSON, seed, hparams) to the
// other ranks before evaluating it with them; ranks > 0 call follow_trials(), which evaluates what
// arrives until the leader's finish().
class TrialLeader final : public trainer::Evaluator {
 public:
  TrialLeader(trainer::distributed::DistributedContext& context, const space::SearchSpace& space,
              trainer::distributed::DataParallelEvaluator& evaluator);
  ~TrialLeader() override;  // finish(), errors swallowed
  std::string type() const override { return "train"; }
  TrialResult evaluate(const space::Architecture& arch,
                       const trainer::TrialContext& context) override;
  // Tells the followers that the search is over (idempotent).
  void finish();

 private:
  trainer::distributed::DistributedContext& context_;
  const space::SearchSpace& space_;
  trainer::distributed::DataParallelEvaluator& evaluator_;
  bool finished_ = false;
};

// Ranks > 0: evaluates the trials rank 0 sends until it finishes; returns how many.
int follow_trials(trainer::distributed::DistributedContext& context,
                  const space::SearchSpace& space,
                  trainer::distributed::DataParallelEvaluator& evaluator);

}  // namespace nasforge::search
