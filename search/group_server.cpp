#include "search/group_server.h"

#include <thread>

#include "common/errors.h"

namespace nasforge::search {

namespace {

std::string wait_for(trainer::distributed::StoreClient& store, const std::string& key,
                     const std::atomic<bool>* stop, std::chrono::milliseconds poll) {
  for (;;) {
    if (auto value = store.try_get(key)) return *value;
    if (stop != nullptr && *stop) throw Error("the master stopped the search");
    std::this_thread::sleep_for(poll);
  }
}

double unix_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

int serve(trainer::distributed::DistributedContext& context, int group,
          trainer::distributed::StoreClient& store, const space::SearchSpace& space,
          trainer::Evaluator& evaluator, const std::atomic<bool>* stop,
          std::chrono::milliseconds poll) {
  const bool leads = context.is_main();
  for (int n = 0;; ++n) {
    const auto message =
        nlohmann::json::parse(wait_for(store, trial_keys::assignment(group, n), stop, poll));
    if (message.value("done", false)) {
      store.add(trial_keys::stopped(group), 1);  // the master waits for every rank's
      return n;
    }
    trainer::TrialContext trial;
    trial.trial_id = message.at("trial_id").get<std::int64_t>();
    trial.seed = message.at("seed").get<std::uint64_t>();
    trial.hparams = message.at("hparams");
    trial.weights_path = message.at("weights_path").get<std::string>();
    trial.measure_latency = message.at("measure_latency").get<bool>();
    if (leads) {
      trial.on_epoch = [&, n](const EpochRecord& record) {
        store.set(trial_keys::epoch(group, n, record.epoch), to_json(record).dump());
        return wait_for(store, trial_keys::go_on(group, n, record.epoch), stop, poll) == "1";
      };
    }
    const double began = unix_seconds();
    auto result = evaluator.evaluate(space.from_json(message.at("architecture")), trial);
    // When the group really trained it (not when the master planned it): how far trials overlap.
    result.extra["trained_from"] = began;
    result.extra["trained_until"] = unix_seconds();
    if (leads) store.set(trial_keys::result(group, n), to_json(result).dump());
  }
}

}  // namespace

int serve_group(trainer::distributed::DistributedContext& context, int group,
                trainer::distributed::StoreClient& store, const space::SearchSpace& space,
                trainer::Evaluator& evaluator, const std::atomic<bool>* stop,
                std::chrono::milliseconds poll) {
  try {
    return serve(context, group, store, space, evaluator, stop, poll);
  } catch (const std::exception& e) {
    try {
      store.set(trial_keys::broken(group), e.what());
    } catch (const Error&) {
      // The store is gone too (the master died): nobody to tell.
    }
    throw;
  }
}

}  // namespace nasforge::search
