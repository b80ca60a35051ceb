#include "search/trial_executor.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <thread>

#include "common/errors.h"

namespace nasforge::search {

TrialExecutor::TrialExecutor(trainer::Evaluator& evaluator, ParallelOptions options)
    : evaluator_(evaluator),
      options_(std::move(options)),
      slot_busy_(static_cast<size_t>(std::max(1, options_.workers)), false) {
  options_.workers = std::max(1, options_.workers);
  if (options_.workers > 1) threads_.resize(static_cast<size_t>(options_.workers));
}

TrialExecutor::~TrialExecutor() { wait_all(); }

void TrialExecutor::wait_all() {
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

void TrialExecutor::evaluate(RunningTrial& trial, int threads) {
  const auto& device = trial.context.device;
  if (threads > 0 && (device.empty() || device == "cpu")) at::set_num_threads(threads);
  try {
    trial.result = evaluator_.evaluate(trial.plan.arch, trial.context);
  } catch (...) {
    trial.error = std::current_exception();
  }
}

void TrialExecutor::submit(std::unique_ptr<RunningTrial> trial) {
  const auto free = std::find(slot_busy_.begin(), slot_busy_.end(), false);
  if (free == slot_busy_.end()) throw InternalError("TrialExecutor: no free slot");
  const int slot = static_cast<int>(free - slot_busy_.begin());
  slot_busy_[static_cast<size_t>(slot)] = true;
  ++in_flight_;
  trial->context.device = options_.device_of(slot);
  if (threads_.empty()) {
    // One worker: the evaluation runs here, on the training config's threads.
    evaluate(*trial, 0);
    std::lock_guard lock(done_mutex_);
    done_.emplace_back(slot, std::move(trial));
    return;
  }
  // CPU workers share the cores; GPU workers each drive their own device.
  const int threads =
      std::max(1, static_cast<int>(std::thread::hardware_concurrency()) / options_.workers);
  auto& thread = threads_[static_cast<size_t>(slot)];
  if (thread.joinable()) thread.join();  // the slot's previous trial, already done
  thread = std::thread([this, slot, threads, trial = std::move(trial)]() mutable {
    evaluate(*trial, threads);
    std::lock_guard lock(done_mutex_);
    done_.emplace_back(slot, std::move(trial));
    done_changed_.notify_all();
  });
}

std::unique_ptr<RunningTrial> TrialExecutor::next_finished() {
  if (in_flight_ == 0) throw InternalError("TrialExecutor: nothing in flight");
  std::unique_lock lock(done_mutex_);
  done_changed_.wait(lock, [&] { return !done_.empty(); });
  auto [slot, trial] = std::move(done_.front());
  done_.pop_front();
  lock.unlock();
  slot_busy_[static_cast<size_t>(slot)] = false;
  --in_flight_;
  if (trial->error) {
    // Let the other trials finish their epoch writes, then stop: they stay running in the store
    // and `resume` runs them again.
    wait_all();
    std::rethrow_exception(trial->error);
  }
  return std::move(trial);
}

}  // namespace nasforge::search
