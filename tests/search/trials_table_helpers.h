#pragma once
// Reading what `nasforge trials` writes back, for the tests: RFC 4180 CSV, and a small store
// made by hand with trials in every state.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "store/sqlite_store.h"
#include "tests/search/cli_helpers.h"

namespace nasforge::testing {

// RFC 4180: fields split at commas, records at CRLF; a quoted field may hold commas, CR, LF and
// doubled quotes. Fails the test on a bare LF between records or an unclosed quote.
inline std::vector<std::vector<std::string>> parse_csv(const std::string& text) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  bool quoted = false, field_started = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"' && !field_started) {
      quoted = field_started = true;
    } else if (c == ',') {
      record.push_back(field);
      field.clear();
      field_started = false;
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      record.push_back(field);
      records.push_back(record);
      record.clear();
      field.clear();
      field_started = false;
      ++i;
    } else {
      REQUIRE(c != '\n');
      REQUIRE(c != '"');
      field += c;
      field_started = true;
    }
  }
  REQUIRE_FALSE(quoted);
  REQUIRE(record.empty());
  REQUIRE(field.empty());
  return records;
}

// An NB201 experiment (valid for `status`) with trials made by hand: 0 completed (2 epochs, a
// metric), 1 failed with an error that needs quoting, 2 running (1 epoch so far), 3 pending.
inline void make_hand_store(const std::string& path, const std::string& failure) {
  auto store = store::SqliteStore::create(path);
  const std::vector<std::uint8_t> kEmptyState = {0xa0};  // CBOR {}
  const nlohmann::json config = {
      {"name", "hand"},
      {"budget", {{"trials", 4}}},
      {"space", {{"type", "nb201"}}},
      {"controller", {{"type", "random"}}},
      {"evaluator",
       {{"type", "nb201-table"}, {"path", nb201_table_path()}, {"column", "cifar10_valid"}}}};
  const auto experiment = store.create_experiment("hand", config);
  const std::string cell = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|";
  std::vector<std::int64_t> ids;
  for (int i = 0; i < 4; ++i) {
    store::NewTrial t;
    t.ordinal = i;
    t.arch_canonical = cell;
    t.arch_hash = "hash" + std::to_string(i);
    t.arch = nlohmann::json::object();
    t.hparams = {{"learning_rate", 0.1 * (i + 1)}};
    if (i == 1) t.hparams["batch_size"] = 64;
    ids.push_back(store.create_trial(experiment, t, {i, kEmptyState}));
  }
  for (int i = 0; i < 3; ++i) store.start_trial(ids[static_cast<size_t>(i)]);
  for (int e = 1; e <= 2; ++e) {
    EpochRecord record;
    record.epoch = e;
    record.train_loss = 1.0 / e;
    record.train_accuracy = 0.3 * e;
    record.val_loss = 1.5 / e;
    record.val_accuracy = 0.1 + 0.3 * e;
    record.learning_rate = 0.05 / e;
    record.seconds = 1.25 * e;
    store.append_epoch(ids[0], record);
    if (e == 1) store.append_epoch(ids[2], record);
  }
  TrialResult done;
  done.state = TrialState::kCompleted;
  done.val_accuracy = 0.7;
  done.val_loss = 0.75;
  done.train_loss = 0.5;
  done.params = 1234;
  done.flops = 56789;
  done.epochs = 2;
  done.wall_seconds = 3.75;
  done.metrics["train_accuracy"] = 0.6;
  store.finish_trial(ids[0], done, {1, kEmptyState});
  TrialResult failed;
  failed.state = TrialState::kFailed;
  failed.error = failure;
  store.finish_trial(ids[1], failed, {2, kEmptyState});
}

}  // namespace nasforge::testing
