#include "app/trials_command.h"

#include <cmath>
#include <ctime>
#include <fstream>
#include <ostream>
#include <set>

#include "common/errors.h"

namespace nasforge::app {

namespace {

using nlohmann::json;

// The names of the keys any row's object has, sorted (a column per name).
template <typename Get>
std::set<std::string> key_union(const std::vector<store::TrialRow>& trials, Get object_of) {
  std::set<std::string> names;
  for (const auto& t : trials) {
    const json& object = object_of(t);
    if (!object.is_object()) continue;
    for (const auto& [key, value] : object.items()) names.insert(key);
  }
  return names;
}

json value_or_null(const json& object, const std::string& key) {
  return object.is_object() && object.contains(key) ? object.at(key) : json();
}

json time_or_null(double unix_seconds) {
  return unix_seconds > 0 ? json(iso_utc(unix_seconds)) : json();
}

}  // namespace

std::string iso_utc(double unix_seconds) {
  const double whole = std::floor(unix_seconds);
  auto millis = std::llround((unix_seconds - whole) * 1000);
  auto seconds = static_cast<std::time_t>(whole);
  if (millis == 1000) {
    millis = 0;
    ++seconds;
  }
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[40];
  const auto n = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(text + n, sizeof text - n, ".%03lldZ", static_cast<long long>(millis));
  return text;
}

Table trials_table(const store::SqliteStore& store, std::int64_t experiment_id) {
  const auto trials = store.trials(experiment_id);
  const auto hparams = key_union(trials, [](const auto& t) -> const json& { return t.hparams; });
  const auto extras =
      key_union(trials, [](const auto& t) -> const json& { return t.result.extra; });
  std::set<std::string> metrics;
  for (const auto& t : trials) {
    for (const auto& [name, value] : t.result.metrics) metrics.insert(name);
  }

  Table table;
  table.columns = {"ordinal", "state", "kind", "parent", "arch_hash", "architecture"};
  for (const auto& name : hparams) table.columns.push_back("hp_" + name);
  for (const char* name : {"val_accuracy", "val_loss", "train_loss", "params", "flops", "epochs",
                           "wall_seconds", "error", "weights_path"}) {
    table.columns.push_back(name);
  }
  for (const auto& name : metrics) table.columns.push_back("metric_" + name);
  for (const auto& name : extras) table.columns.push_back("extra_" + name);
  for (const char* name : {"created_at", "started_at", "finished_at"}) {
    table.columns.push_back(name);
  }

  for (const auto& t : trials) {
    std::vector<json> row = {t.ordinal,         to_string(t.state),
                             to_string(t.kind), t.parent ? json(*t.parent) : json(),
                             t.arch_hash,       t.arch_canonical};
    for (const auto& name : hparams) row.push_back(value_or_null(t.hparams, name));
    // An unfinished trial has no result yet: nulls, not the store's zeros.
    const bool finished = is_finished(t.state);
    const auto& r = t.result;
    auto result = [&](json value) { row.push_back(finished ? std::move(value) : json()); };
    result(r.val_accuracy);
    result(r.val_loss);
    result(r.train_loss);
    result(r.params);
    result(r.flops);
    result(r.epochs);
    result(r.wall_seconds);
    result(r.error.empty() ? json() : json(r.error));
    result(r.weights_path.empty() ? json() : json(r.weights_path));
    for (const auto& name : metrics) {
      const auto found = r.metrics.find(name);
      row.push_back(found == r.metrics.end() ? json() : json(found->second));
    }
    for (const auto& name : extras) row.push_back(value_or_null(r.extra, name));
    row.push_back(time_or_null(t.created_at));
    row.push_back(time_or_null(t.started_at));
    row.push_back(time_or_null(t.finished_at));
    table.rows.push_back(std::move(row));
  }
  return table;
}

Table epochs_table(const store::SqliteStore& store, std::int64_t experiment_id) {
  Table table;
  table.columns = {"ordinal",        "state",      "epoch",        "train_loss",
                   "train_accuracy", "val_loss",   "val_accuracy", "learning_rate",
                   "seconds",        "loss_scale", "skipped_steps"};
  for (const auto& t : store.trials(experiment_id)) {
    for (const auto& e : store.epochs(t.id)) {
      table.rows.push_back({t.ordinal, to_string(t.state), e.epoch, e.train_loss, e.train_accuracy,
                            e.val_loss, e.val_accuracy, e.learning_rate, e.seconds, e.loss_scale,
                            e.skipped_steps});
    }
  }
  return table;
}

void write_trials(const std::string& db_path, const std::string& format, bool per_epoch,
                  const std::string& out_path, std::ostream& out) {
  if (format != "csv" && format != "json") {
    throw ConfigError("trials: --format '" + format + "': expected csv or json");
  }
  const auto store = store::SqliteStore::open(db_path);
  const auto experiment_id = store.experiment().id;
  const auto table =
      per_epoch ? epochs_table(store, experiment_id) : trials_table(store, experiment_id);
  auto write = [&](std::ostream& to) {
    if (format == "csv") {
      write_csv(table, to);
    } else {
      write_json(table, to);
    }
  };
  if (out_path.empty()) {
    write(out);
    return;
  }
  std::ofstream file(out_path, std::ios::binary);
  if (file) write(file);
  file.close();  // sets failbit when the file never opened or its last write failed
  if (!file) {
    throw ConfigError("trials: cannot write " + out_path + " (does its folder exist?)");
  }
  out << "wrote " << table.rows.size() << (per_epoch ? " epoch rows" : " trials") << " to "
      << out_path << "\n";
}

}  // namespace nasforge::app
