#pragma once
// Runs trials' evaluations, `workers` at a time: one trial path for one worker or many (the
// place where groups of ranks per trial will plug in). With one worker the evaluation runs on
// the caller's thread; with more, each runs on a thread of its own slot (N slots run N trials;
// not pool workers, so a trial's own oneTBB work never waits for the worker it occupies), on its
// slot's device, and CPU workers share the cores.
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <vector>

#include <thread>

#include "search/parallel_options.h"
#include "search/running_trial.h"
#include "trainer/evaluator.h"

namespace nasforge::search {

class TrialExecutor {
 public:
  TrialExecutor(trainer::Evaluator& evaluator, ParallelOptions options);
  // Waits for evaluations still running (their trials stay running in the store).
  ~TrialExecutor();
  TrialExecutor(const TrialExecutor&) = delete;
  TrialExecutor& operator=(const TrialExecutor&) = delete;

  int in_flight() const { return in_flight_; }
  bool has_free_slot() const { return in_flight_ < options_.workers; }
  // Starts evaluating `trial` in a free slot, on that slot's device; with one worker it is
  // evaluated before submit returns. The caller must not hold locks the epoch callback takes.
  void submit(std::unique_ptr<RunningTrial> trial);
  // The next trial whose evaluation ended, in the order they end. An evaluator that threw (not a
  // trial's own failure): waits for the others, then rethrows.
  std::unique_ptr<RunningTrial> next_finished();

 private:
  void evaluate(RunningTrial& trial, int threads);
  void wait_all();

  trainer::Evaluator& evaluator_;
  ParallelOptions options_;
  std::vector<bool> slot_busy_;
  int in_flight_ = 0;
  std::mutex done_mutex_;
  std::condition_variable done_changed_;
  std::deque<std::pair<int, std::unique_ptr<RunningTrial>>> done_;  // (slot, trial)
  std::vector<std::thread> threads_;  // by slot, with more than one worker
};

}  // namespace nasforge::search
