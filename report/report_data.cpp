#include "report/report_data.h"

#include <algorithm>
#include <chrono>

#include "common/errors.h"
#include "store/sqlite_store.h"

namespace nasforge::report {

std::string ReportData::type_of(const std::string& key) const {
  const auto& config = experiment.config;
  if (!config.is_object() || !config.contains(key) || !config.at(key).is_object()) return "";
  const auto& type = config.at(key).value("type", nlohmann::json());
  return type.is_string() ? type.get<std::string>() : "";
}

std::optional<std::int64_t> ReportData::ordinal_of(std::int64_t id) const {
  const auto it = ordinal_by_id.find(id);
  if (it == ordinal_by_id.end()) return std::nullopt;
  return it->second;
}

std::vector<const store::TrialRow*> ReportData::by_finish_time() const {
  std::vector<const store::TrialRow*> out;
  for (const auto& t : trials) {
    if (is_finished(t.state)) out.push_back(&t);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const auto* a, const auto* b) { return a->finished_at < b->finished_at; });
  return out;
}

ReportData load_report_data(const store::SqliteStore& store) {
  ReportData data;
  data.experiment = store.experiment();
  const auto id = data.experiment.id;
  data.trials = store.trials(id);
  std::stable_sort(data.trials.begin(), data.trials.end(),
                   [](const auto& a, const auto& b) { return a.ordinal < b.ordinal; });
  for (const auto& t : data.trials) {
    data.ordinal_by_id[t.id] = t.ordinal;
    auto epochs = store.epochs(t.id);
    if (!epochs.empty()) data.epochs[t.id] = std::move(epochs);
  }
  data.hparam_changes = store.hparam_changes(id);
  if (const auto snapshot = store.controller_state(id)) {
    try {
      data.controller_state = nlohmann::json::from_cbor(snapshot->cbor);
    } catch (const nlohmann::json::exception& e) {
      throw StoreError(store.path() + ": the saved controller state is not valid CBOR (" +
                       e.what() + ")");
    }
  }
  // The best as the search ranks it: under an objective (accuracy against cost) by the reward the
  // search stores per trial (search/objective.h's kRewardMetric), otherwise by accuracy.
  store::BestTrialQuery best_query;
  if (data.experiment.config.contains("objective")) best_query.metric = "reward";
  data.best = store.best_trial(id, best_query);
  data.compressions = store.compressions(id);
  data.generated_at =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  return data;
}

}  // namespace nasforge::report
