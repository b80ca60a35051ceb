#include "search/group_dispatcher.h"

#include <thread>

#include "common/errors.h"
#include "common/log.h"
#include "trainer/distributed/heartbeat.h"
#include "trainer/distributed/process_group.h"

namespace nasforge::search {

namespace dist = trainer::distributed;
using Clock = std::chrono::steady_clock;

namespace {
constexpr std::chrono::milliseconds kPoll{20};
}

GroupDispatcher::GroupDispatcher(std::unique_ptr<dist::StoreClient> store, GroupLayout layout,
                                 TrialGroupOptions options, const space::SearchSpace& space)
    : store_(std::move(store)),
      layout_(layout),
      options_(options),
      space_(space),
      busy_(static_cast<std::size_t>(layout.groups()), false),
      dead_(static_cast<std::size_t>(layout.groups()), false),
      next_n_(static_cast<std::size_t>(layout.groups()), 0) {}

int GroupDispatcher::live_groups() const {
  const std::lock_guard lock(mutex_);
  int live = 0;
  for (bool d : dead_) live += d ? 0 : 1;
  return live;
}

int GroupDispatcher::acquire_group() {
  std::unique_lock lock(mutex_);
  for (;;) {
    bool any_alive = false;
    for (int g = 0; g < layout_.groups(); ++g) {
      if (dead_[g]) continue;
      any_alive = true;
      if (!busy_[g]) {
        busy_[g] = true;
        return g;
      }
    }
    if (!any_alive) {
      throw dist::CollectiveError("every trial group has failed (the last: " + last_failure_ +
                                  "); continue the search with `nasforge launch ... --resume`");
    }
    freed_.wait(lock);
  }
}

void GroupDispatcher::release_group(int group, const std::string& failure) {
  {
    const std::lock_guard lock(mutex_);
    busy_[group] = false;
    if (!failure.empty()) {
      dead_[group] = true;
      last_failure_ = failure;
    }
  }
  freed_.notify_all();
}

TrialResult GroupDispatcher::evaluate(const space::Architecture& arch,
                                      const trainer::TrialContext& context) {
  if (!context.init_weights_path.empty()) {
    throw InternalError("data-parallel trials cannot continue from saved weights");
  }
  const nlohmann::json message = {{"architecture", space_.to_json(arch)},
                                  {"trial_id", context.trial_id},
                                  {"seed", context.seed},
                                  {"hparams", context.hparams},
                                  {"weights_path", context.weights_path},
                                  {"measure_latency", context.measure_latency}};
  std::vector<bool> decisions;  // go-on decisions already taken, by epoch (kept across attempts)
  std::string failures;
  for (int attempt = 1; attempt <= options_.attempts; ++attempt) {
    const int group = acquire_group();
    int n = 0;
    {
      const std::lock_guard lock(mutex_);
      n = next_n_[group]++;
    }
    Attempt outcome;
    try {
      {
        const std::lock_guard lock(store_mutex_);
        store_->set(trial_keys::assignment(group, n), message.dump());
      }
      outcome = run_attempt(group, n, context, decisions);
    } catch (...) {
      release_group(group, "");
      throw;
    }
    const auto ranks = dist::describe_ranks(layout_.ranks_of(group));
    if (outcome.result) {
      release_group(group, "");
      outcome.result->extra["group"] = group;
      outcome.result->extra["group_ranks"] = layout_.ranks_of(group);
      outcome.result->extra["attempts"] = attempt;
      return *outcome.result;
    }
    const std::string why =
        "group " + std::to_string(group) + " (" + ranks + "): " + outcome.failure;
    release_group(group, why);
    failures += (failures.empty() ? "" : "; ") + why;
    log::warn("trial " + std::to_string(context.trial_id) + ": attempt " + std::to_string(attempt) +
              " of " + std::to_string(options_.attempts) + " lost, " + why +
              (attempt < options_.attempts ? "; giving it to another group" : ""));
  }
  TrialResult failed;
  failed.state = TrialState::kFailed;
  failed.error =
      "its trial groups failed " + std::to_string(options_.attempts) + " time(s): " + failures;
  failed.extra["attempts"] = options_.attempts;
  return failed;
}

GroupDispatcher::Attempt GroupDispatcher::run_attempt(int group, int n,
                                                      const trainer::TrialContext& context,
                                                      std::vector<bool>& decisions) {
  const auto ranks = layout_.ranks_of(group);
  std::vector<std::int64_t> beats(ranks.size(), -1);
  std::vector<Clock::time_point> beat_at(ranks.size(), Clock::now());
  int epoch = 1;
  Attempt outcome;
  for (;;) {
    std::optional<std::string> result, record, broken;
    {
      const std::lock_guard lock(store_mutex_);
      result = store_->try_get(trial_keys::result(group, n));
      if (!result) record = store_->try_get(trial_keys::epoch(group, n, epoch));
      if (!result && !record) broken = store_->try_get(trial_keys::broken(group));
      for (std::size_t i = 0; i < ranks.size(); ++i) {
        const auto count = store_->add(dist::Heartbeat::key(ranks[i]), 0);
        if (count != beats[i]) {
          beats[i] = count;
          beat_at[i] = Clock::now();
        }
      }
    }
    if (result) {
      outcome.result = trial_result_from_json(nlohmann::json::parse(*result));
      return outcome;
    }
    if (record) {
      // An epoch an earlier attempt already relayed is recorded once: its decision is replayed.
      bool go_on = true;
      if (epoch <= static_cast<int>(decisions.size())) {
        go_on = decisions[static_cast<std::size_t>(epoch - 1)];
      } else {
        const auto parsed = epoch_record_from_json(nlohmann::json::parse(*record));
        go_on = !context.on_epoch || context.on_epoch(parsed);
        decisions.push_back(go_on);
      }
      const std::lock_guard lock(store_mutex_);
      store_->set(trial_keys::go_on(group, n, epoch), go_on ? "1" : "0");
      ++epoch;
      continue;
    }
    if (broken) {
      outcome.failure = *broken;
      return outcome;
    }
    for (std::size_t i = 0; i < ranks.size(); ++i) {
      const auto quiet = Clock::now() - beat_at[i];
      if (quiet > options_.heartbeat_timeout) {
        outcome.failure =
            "rank " + std::to_string(ranks[i]) + " stopped beating for " +
            std::to_string(std::chrono::duration_cast<std::chrono::seconds>(quiet).count()) + " s";
        return outcome;
      }
    }
    std::this_thread::sleep_for(kPoll);
  }
}

void GroupDispatcher::finish() {
  std::vector<int> live;
  {
    const std::lock_guard lock(mutex_);
    if (finished_) return;
    finished_ = true;
    for (int g = 0; g < layout_.groups(); ++g) {
      if (!dead_[g]) live.push_back(g);
    }
  }
  const std::lock_guard lock(store_mutex_);
  for (int g : live) {
    store_->set(trial_keys::assignment(g, next_n_[g]), nlohmann::json{{"done", true}}.dump());
  }
  // The store lives in rank 0: leaving before the groups have read "done" would make them fail.
  const auto deadline = Clock::now() + options_.heartbeat_timeout;
  for (int g : live) {
    while (store_->add(trial_keys::stopped(g), 0) < layout_.group_size() &&
           !store_->try_get(trial_keys::broken(g)) && Clock::now() < deadline) {
      std::this_thread::sleep_for(kPoll);
    }
  }
}

}  // namespace nasforge::search
