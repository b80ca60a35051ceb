#pragma once
// The master's side of the trial protocol (search/trial_groups.h): an Evaluator whose evaluate()
// hands the trial to a free trial group and returns its result, so that the search loop's worker
// slots (one per group) keep every group busy. While the group trains, each epoch it relays is
// given to the trial's on_epoch (the store records it, pruners decide) and the decision sent back.
// A group whose rank breaks its collectives, or stops beating for the heartbeat timeout, is
// dropped and the trial given to another group; after TrialGroupOptions::attempts groups the
// trial is a failed result with the reason. With no group left, evaluate() throws
// CollectiveError: the search stops and `resume` runs the trial again.
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "search/trial_groups.h"
#include "space/search_space.h"
#include "trainer/distributed/store_client.h"
#include "trainer/evaluator.h"

namespace nasforge::search {

class GroupDispatcher final : public trainer::Evaluator {
 public:
  GroupDispatcher(std::unique_ptr<trainer::distributed::StoreClient> store, GroupLayout layout,
                  TrialGroupOptions options, const space::SearchSpace& space);
  std::string type() const override { return "train"; }
  TrialResult evaluate(const space::Architecture& arch,
                       const trainer::TrialContext& context) override;
  // Tells every group still alive that the search is over and waits (at most the heartbeat
  // timeout) until their leaders have read it. Idempotent.
  void finish();
  int live_groups() const;

 private:
  struct Attempt {
    std::optional<TrialResult> result;  // unset: the group broke
    std::string failure;                // why it broke
  };
  int acquire_group();  // waits for a free live group; CollectiveError when none is left
  void release_group(int group, const std::string& failure);
  Attempt run_attempt(int group, int n, const trainer::TrialContext& context,
                      std::vector<bool>& decisions);

  std::unique_ptr<trainer::distributed::StoreClient> store_;
  std::mutex store_mutex_;  // slot threads share the connection
  GroupLayout layout_;
  TrialGroupOptions options_;
  const space::SearchSpace& space_;
  mutable std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<bool> busy_, dead_;
  std::vector<int> next_n_;  // the next assignment number of each group
  std::string last_failure_;
  bool finished_ = false;
};

}  // namespace nasforge::search
