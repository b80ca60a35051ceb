// The executor runs as many trials at once as it has workers: measured from the times the
// evaluations really ran, not from what was planned.
#include "tests/nasforge_catch.h"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "common/rng.h"
#include "search/trial_executor.h"
#include "space/search_space.h"

using namespace nasforge;
using Clock = std::chrono::steady_clock;

namespace {

// Each evaluation sleeps, and records when it really began and ended.
class SleepingEvaluator final : public trainer::Evaluator {
 public:
  std::string type() const override { return "sleeping"; }
  TrialResult evaluate(const space::Architecture&, const trainer::TrialContext&) override {
    const auto begin = Clock::now();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    std::lock_guard lock(mutex_);
    spans_.emplace_back(begin, Clock::now());
    TrialResult result;
    result.state = TrialState::kCompleted;
    return result;
  }
  // The most evaluations that ran at the same moment.
  int most_at_once() const {
    int most = 0;
    for (const auto& [begin, end] : spans_) {
      const auto at_once = std::count_if(spans_.begin(), spans_.end(), [&](const auto& other) {
        return other.first <= begin && begin < other.second;
      });
      most = std::max(most, static_cast<int>(at_once));
    }
    return most;
  }

 private:
  std::mutex mutex_;
  std::vector<std::pair<Clock::time_point, Clock::time_point>> spans_;
};

// Runs `trials` evaluations through an executor of `workers`, keeping every slot busy.
int most_at_once(int workers, int trials) {
  const auto space = space::make_search_space({{"type", "nb201"}});
  SleepingEvaluator evaluator;
  search::ParallelOptions options;
  options.workers = workers;
  search::TrialExecutor executor(evaluator, options);
  Rng rng(3);
  int submitted = 0, finished = 0;
  while (finished < trials) {
    while (submitted < trials && executor.has_free_slot()) {
      executor.submit(std::make_unique<search::RunningTrial>(
          submitted, submitted, search::TrialPlan(space->random(rng))));
      ++submitted;
    }
    const auto done = executor.next_finished();
    REQUIRE(done->result.state == TrialState::kCompleted);
    ++finished;
  }
  return evaluator.most_at_once();
}

}  // namespace

TEST_CASE("N workers evaluate N trials at the same time, one worker one at a time", "[search]") {
  CHECK(most_at_once(1, 3) == 1);
  CHECK(most_at_once(2, 4) == 2);
  CHECK(most_at_once(3, 6) == 3);
}
