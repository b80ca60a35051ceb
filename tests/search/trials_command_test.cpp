// `nasforge trials`: the CSV and JSON tables hold what the store holds, row for row.
#include "tests/nasforge_catch.h"

#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>

#include "store/sqlite_store.h"
#include "tests/search/cli_helpers.h"
#include "tests/search/trials_table_helpers.h"

using namespace nasforge;
using namespace nasforge::testing;
using nlohmann::json;

namespace {

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A table's rows as column -> text (CSV) after checking the header.
std::vector<std::map<std::string, std::string>> csv_rows(const std::string& text) {
  const auto records = parse_csv(text);
  REQUIRE(!records.empty());
  std::vector<std::map<std::string, std::string>> rows;
  for (size_t r = 1; r < records.size(); ++r) {
    REQUIRE(records[r].size() == records[0].size());
    std::map<std::string, std::string> row;
    for (size_t c = 0; c < records[0].size(); ++c) row[records[0][c]] = records[r][c];
    rows.push_back(row);
  }
  return rows;
}

double number(const std::string& text) {
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  REQUIRE(*end == '\0');
  return value;
}

// "2024-05-01T12:00:00.250Z" -> unix seconds.
double unix_seconds(const std::string& iso) {
  std::tm tm{};
  const char* rest = strptime(iso.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  REQUIRE(rest != nullptr);
  REQUIRE(std::string(rest).size() == 5);  // ".250Z"
  return static_cast<double>(timegm(&tm)) + number(std::string(rest).substr(0, 4));
}

}  // namespace

TEST_CASE("trials as CSV and JSON have the store's rows, results and hyperparameters", "[search]") {
  TempDir dir("trials-nb201");
  // Successive halving on the table: new trials and promotions, an epochs hyperparameter.
  const json config = {
      {"name", "nb201"},
      {"seed", 3},
      {"budget", {{"cost", 3}}},
      {"space", {{"type", "nb201"}}},
      {"controller", {{"type", "evolution"}, {"population", 6}, {"sample", 3}}},
      {"fidelity",
       {{"type", "successive_halving"}, {"rungs", {12, 200}}, {"eta", 3}, {"bracket_size", 9}}},
      {"evaluator",
       {{"type", "nb201-table"}, {"path", nb201_table_path()}, {"column", "cifar10_valid"}}}};
  const auto db = dir.file("nb.db");
  const auto run =
      run_cli("run " + write_json(dir, "nb.json", config) + " --db " + db + " --quiet");
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  const auto csv = run_cli("trials --db " + db + " --out " + dir.file("t.csv"));
  const auto js = run_cli("trials --db " + db + " --format json --out " + dir.file("t.json"));
  REQUIRE(csv.exit_code == 0);
  REQUIRE(js.exit_code == 0);
  // To standard output, the same bytes (and nothing else).
  const auto to_stdout = run_cli("trials --db " + db + " --format csv");
  CHECK(to_stdout.output == read(dir.file("t.csv")));

  auto store = store::SqliteStore::open(db);
  const auto trials = store.trials(store.experiment().id);
  const auto rows = csv_rows(read(dir.file("t.csv")));
  const auto objects = json::parse(read(dir.file("t.json")));
  const auto ordered = nlohmann::ordered_json::parse(read(dir.file("t.json")));  // keys as written
  const auto header = parse_csv(read(dir.file("t.csv"))).front();
  REQUIRE(rows.size() == trials.size());
  REQUIRE(objects.size() == trials.size());
  bool promoted = false;
  for (size_t i = 0; i < trials.size(); ++i) {
    const auto& t = trials[i];
    const auto& row = rows[i];
    const auto& object = objects[i];
    INFO("trial " << t.ordinal);
    // The JSON objects have the CSV's columns, in its order.
    std::vector<std::string> keys;
    for (const auto& [key, value] : ordered[i].items()) keys.push_back(key);
    CHECK(keys == header);

    CHECK(row.at("ordinal") == std::to_string(t.ordinal));
    CHECK(object.at("ordinal") == t.ordinal);
    CHECK(row.at("state") == "completed");
    CHECK(row.at("kind") == to_string(t.kind));
    CHECK(object.at("kind") == to_string(t.kind));
    CHECK(row.at("parent") == (t.parent ? std::to_string(*t.parent) : ""));
    CHECK(object.at("parent") == (t.parent ? json(*t.parent) : json()));
    promoted = promoted || t.kind == TrialKind::kPromotion;
    CHECK(row.at("architecture") == t.arch_canonical);
    CHECK(row.at("arch_hash") == t.arch_hash);
    // Exactly the stored doubles: the text round-trips.
    CHECK(number(row.at("val_accuracy")) == t.result.val_accuracy);
    CHECK(object.at("val_accuracy").get<double>() == t.result.val_accuracy);
    CHECK(number(row.at("epochs")) == t.result.epochs);
    REQUIRE(t.hparams.contains("epochs"));
    for (const auto& [name, value] : t.hparams.items()) {
      CHECK(number(row.at("hp_" + name)) == value.get<double>());
      CHECK(object.at("hp_" + name) == value);
    }
    for (const auto& [name, value] : t.result.extra.items()) {
      CHECK(number(row.at("extra_" + name)) == value.get<double>());
      CHECK(object.at("extra_" + name) == value);
    }
    CHECK(unix_seconds(row.at("created_at")) == Approx(t.created_at).margin(0.001));
    CHECK(unix_seconds(object.at("finished_at").get<std::string>()) ==
          Approx(t.finished_at).margin(0.001));
  }
  CHECK(promoted);
}

TEST_CASE("trials of every state: results only once finished, CSV quoting per RFC 4180",
          "[search]") {
  TempDir dir("trials-states");
  const std::string failure = "diverged, \"badly\"\nat epoch 3";
  make_hand_store(dir.file("h.db"), failure);
  const auto result = run_cli("trials --db " + dir.file("h.db") + " --out " + dir.file("h.csv"));
  INFO(result.output);
  REQUIRE(result.exit_code == 0);
  CHECK(result.output == "wrote 4 trials to " + dir.file("h.csv") + "\n");
  const auto rows = csv_rows(read(dir.file("h.csv")));
  REQUIRE(rows.size() == 4);
  CHECK(rows[0].at("state") == "completed");
  CHECK(rows[0].at("params") == "1234");
  CHECK(rows[0].at("flops") == "56789");
  CHECK(rows[0].at("wall_seconds") == "3.75");
  CHECK(rows[0].at("metric_train_accuracy") == "0.6");
  CHECK(rows[0].at("hp_learning_rate") == "0.1");
  CHECK(rows[0].at("hp_batch_size").empty());  // only trial 1 has it
  CHECK(rows[1].at("hp_batch_size") == "64");
  CHECK(rows[1].at("state") == "failed");
  CHECK(rows[1].at("error") == failure);  // quoted and read back whole
  CHECK(rows[1].at("metric_train_accuracy").empty());
  CHECK(rows[2].at("state") == "running");
  CHECK(rows[2].at("val_accuracy").empty());  // not the store's 0 for a trial still running
  CHECK_FALSE(rows[2].at("started_at").empty());
  CHECK(rows[2].at("finished_at").empty());
  CHECK(rows[3].at("state") == "pending");
  CHECK(rows[3].at("started_at").empty());

  const auto js = run_cli("trials --db " + dir.file("h.db") + " --format json");
  REQUIRE(js.exit_code == 0);
  const auto objects = json::parse(js.output);
  CHECK(objects[1].at("error") == failure);
  CHECK(objects[2].at("val_accuracy").is_null());
  CHECK(objects[0].at("metric_train_accuracy") == 0.6);
}

TEST_CASE("trials --epochs gives one row per trial and recorded epoch", "[search]") {
  TempDir dir("trials-epochs");
  make_hand_store(dir.file("h.db"), "x");
  auto store = store::SqliteStore::open(dir.file("h.db"));
  const auto trials = store.trials(store.experiment().id);
  const auto csv = run_cli("trials --db " + dir.file("h.db") + " --epochs");
  const auto js = run_cli("trials --db " + dir.file("h.db") + " --epochs --format json");
  REQUIRE(csv.exit_code == 0);
  REQUIRE(js.exit_code == 0);
  const auto rows = csv_rows(csv.output);
  const auto objects = json::parse(js.output);
  REQUIRE(rows.size() == 3);  // trial 0's two epochs, trial 2's one so far
  REQUIRE(objects.size() == 3);
  const std::pair<std::int64_t, size_t> expected[] = {{0, 0}, {0, 1}, {2, 0}};
  for (size_t i = 0; i < 3; ++i) {
    const auto [ordinal, index] = expected[i];
    const auto epoch = store.epochs(trials[static_cast<size_t>(ordinal)].id)[index];
    INFO("row " << i);
    CHECK(rows[i].at("ordinal") == std::to_string(ordinal));
    CHECK(number(rows[i].at("epoch")) == epoch.epoch);
    CHECK(number(rows[i].at("val_accuracy")) == epoch.val_accuracy);
    CHECK(number(rows[i].at("train_loss")) == epoch.train_loss);
    CHECK(number(rows[i].at("learning_rate")) == epoch.learning_rate);
    CHECK(number(rows[i].at("seconds")) == epoch.seconds);
    CHECK(objects[i].at("val_accuracy").get<double>() == epoch.val_accuracy);
    CHECK(objects[i].at("state") == to_string(trials[static_cast<size_t>(ordinal)].state));
  }
}

TEST_CASE("trials and status --watch refuse bad flags with one line and exit 2", "[search]") {
  TempDir dir("trials-usage");
  make_hand_store(dir.file("h.db"), "x");
  const std::pair<std::string, std::string> cases[] = {
      {"trials --db " + dir.file("h.db") + " --format xml", "expected csv or json"},
      {"trials --db " + dir.file("h.db") + " --out " + dir.file("no/such/dir/t.csv"),
       "cannot write"},
      {"trials --db " + dir.file("missing.db"), "missing.db"},
      {"status --db " + dir.file("h.db") + " --interval 1", "--interval needs --watch"},
      {"status --db " + dir.file("h.db") + " --watch --interval 0", "expected seconds"},
      {"status --db " + dir.file("h.db") + " --watch --interval 2s", "expected seconds"},
  };
  for (const auto& [args, message] : cases) {
    INFO(args);
    const auto result = run_cli(args);
    INFO(result.output);
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.output, Catch::StartsWith("nasforge: error: ") && Catch::Contains(message));
    CHECK(std::count(result.output.begin(), result.output.end(), '\n') == 1);
  }
}
