// The HTML report of real searches (NAS-Bench-201 table searches run in process) and of a blocks
// search written through the store: every plot has one marker per trial or epoch of the store,
// the diagram equals the best architecture, the table has one row per trial.
#include "tests/nasforge_catch.h"

#include <algorithm>
#include <map>

#include "common/errors.h"
#include "report/curves_plot.h"
#include "report/hparam_plots.h"
#include "report/html.h"
#include "report/html_report.h"
#include "space/nb201_space.h"
#include "tests/report/html_probe.h"
#include "tests/report/searches.h"

using namespace nasforge;
using namespace nasforge::testing;
using nlohmann::json;

namespace {

const std::string kPoint = "<circle class=\"point";

bool scored(const store::TrialRow& t) {
  return t.state == TrialState::kCompleted || t.state == TrialState::kPruned;
}

std::size_t count_if_trials(const std::vector<store::TrialRow>& trials,
                            bool (*keep)(const store::TrialRow&)) {
  return static_cast<std::size_t>(std::count_if(trials.begin(), trials.end(), keep));
}

// The points on the Pareto front by the definition (nothing at most as costly and at least as
// accurate, one of them strictly), counted by brute force.
std::size_t front_size(const std::vector<std::pair<double, double>>& points) {
  std::size_t n = 0;
  for (const auto& [x, y] : points) {
    const bool dominated = std::any_of(points.begin(), points.end(), [&](const auto& o) {
      return o.first <= x && o.second >= y && (o.first < x || o.second > y);
    });
    n += !dominated;
  }
  return n;
}

struct Written {
  std::string html;
  std::vector<store::TrialRow> trials;
  json controller_state;
};

Written report_of(const TempDir& dir, const std::string& db) {
  const auto out = dir.file("report.html");
  report::write_report(db, out);
  const auto store = store::SqliteStore::open(db);
  const auto id = store.experiment().id;
  const auto state = store.controller_state(id);
  return {read_text(out), store.trials(id), state ? json::from_cbor(state->cbor) : json()};
}

}  // namespace

TEST_CASE("an NB201-table search's report has one point per finished trial", "[report]") {
  TempDir dir("report-nb201");
  const auto db = dir.file("nb.db");
  run_in_process(db, nb201_search({{"type", "evolution"}, {"population", 6}, {"sample", 3}}, 30));
  const auto [html, trials, state] = report_of(dir, db);
  REQUIRE(trials.size() == 30);
  const auto finished = count_if_trials(trials, scored);
  REQUIRE(finished > 0);

  for (const char* id : {"plot-best-trials", "plot-best-time"}) {
    INFO(id);
    const auto plot = element(html, id);
    REQUIRE_THAT(plot, Catch::StartsWith("<svg id=\"" + std::string(id) + "\" class=\"plot\""));
    CHECK(count(plot, kPoint) == finished);
    CHECK(count(plot, "<circle class=\"point completed best-trial\"") == 1);
    CHECK(count(plot, "<path class=\"best-line\"") == 1);
  }
  // The table evaluator counts the benchmark network's parameters and FLOPs: one point per
  // completed trial.
  for (const char* id : {"plot-params", "plot-flops"}) {
    INFO(id);
    const auto plot = element(html, id);
    CHECK(count(plot, kPoint) == count_if_trials(trials, [](const store::TrialRow& t) {
            return t.state == TrialState::kCompleted;
          }));
    CHECK(count(plot, "<path class=\"pareto-line\"") == 1);
  }
  CHECK_THAT(element(html, "plot-curves"), Catch::Contains("plot-empty"));

  // The best cell drawn: its six edges with the operations of the best architecture.
  const auto store = store::SqliteStore::open(db);
  const auto best = store.best_trial(store.experiment().id);
  REQUIRE(best);
  const space::Nb201Space space;
  const auto arch = space.parse(best->arch_canonical);
  std::vector<std::string> ops;
  for (size_t e = 0; e < arch.choices().size(); ++e)
    ops.push_back(space.decisions()[e].choices[static_cast<size_t>(arch.choices()[e])]);
  const auto diagram = element(html, "arch-diagram");
  CHECK(attributes(diagram, "data-op") == ops);
  CHECK(attributes(diagram, "data-from") == std::vector<std::string>{"0", "0", "1", "0", "1", "2"});
  CHECK(attributes(diagram, "data-to") == std::vector<std::string>{"1", "2", "2", "3", "3", "3"});
  CHECK(count(diagram, "<circle class=\"node\"") == 4);

  // Evolution: the members of the saved population, one marker each.
  REQUIRE(state.contains("population"));
  CHECK(count(element(html, "plot-population"), kPoint) == state.at("population").size());
  CHECK(state.at("population").size() == 6);

  CHECK(count(element(html, "trials"), "<tr class=\"trial ") == trials.size());
  CHECK_THAT(html, Catch::Contains("<script>") && !Catch::Contains("src=\"http"));
}

TEST_CASE("the report plots every hyperparameter change and promotion", "[report]") {
  TempDir dir("report-pbt");
  SECTION("PBT: one marker per recorded change of each hyperparameter") {
    auto config = nb201_search({{"type", "random"}}, 16);
    config["adaptive"] = json::parse(R"({"strategy": "pbt", "warmup_trials": 4,
        "perturb": [0.8, 1.25], "hparams": {"learning_rate": {"min": 0.02, "max": 0.4, "log": true},
        "batch_size": [64, 128, 256]}})");
    const auto db = dir.file("pbt.db");
    run_in_process(db, config);
    const auto html = report_of(dir, db).html;
    const auto store = store::SqliteStore::open(db);
    const auto changes = store.hparam_changes(store.experiment().id);
    std::map<std::string, std::size_t> per_name;
    for (const auto& c : changes) ++per_name[c.name];
    REQUIRE(per_name.size() == 2);
    for (const auto& [name, n] : per_name) {
      INFO(name);
      CHECK(n == 16);
      CHECK(count(element(html, report::hparam_plot_id(name)), kPoint) == n);
    }
    CHECK_THAT(element(html, "plot-hparam-learning_rate"),
               Catch::Contains(">sample</text>") && Catch::Contains(">explore</text>"));
    CHECK(element(html, "plot-promotions").empty());  // none promoted
  }
  SECTION("Hyperband: promotions joined to their parents") {
    auto config = nb201_search({{"type", "evolution"}, {"population", 6}, {"sample", 3}}, 1000);
    config["budget"] = {{"cost", 6}};
    config["fidelity"] = {
        {"type", "successive_halving"}, {"rungs", {12, 200}}, {"eta", 3}, {"bracket_size", 9}};
    const auto db = dir.file("hb.db");
    run_in_process(db, config);
    const auto [html, trials, state] = report_of(dir, db);
    const auto promoted = count_if_trials(
        trials, [](const store::TrialRow& t) { return t.kind == TrialKind::kPromotion; });
    REQUIRE(promoted > 0);
    const auto plot = element(html, "plot-promotions");
    CHECK(count(plot, kPoint) == count_if_trials(trials, scored));
    CHECK(count(plot, "<circle class=\"point kind-promotion\"") == promoted);
    CHECK(count(plot, "<path class=\"promotion-line\"") == promoted);
    const auto store = store::SqliteStore::open(db);
    const auto changes = store.hparam_changes(store.experiment().id);
    const auto promotions = std::count_if(changes.begin(), changes.end(), [](const auto& c) {
      return c.name == "epochs" && c.reason.rfind("promote:", 0) == 0;
    });
    CHECK(static_cast<size_t>(promotions) == promoted);
    const auto epochs = element(html, "plot-hparam-epochs");
    CHECK(count(epochs, kPoint) ==
          static_cast<size_t>(std::count_if(changes.begin(), changes.end(),
                                            [](const auto& c) { return c.name == "epochs"; })));
    CHECK_THAT(epochs, Catch::Contains(">promote</text>"));
  }
}

TEST_CASE("REINFORCE diagnostics show the saved baseline and say no history is kept", "[report]") {
  TempDir dir("report-reinforce");
  const auto db = dir.file("rl.db");
  run_in_process(db, nb201_search({{"type", "reinforce"}, {"batch_size", 4}}, 12));
  const auto [html, trials, state] = report_of(dir, db);
  REQUIRE(state.at("has_baseline").get<bool>());
  const auto table = element(html, "controller-state");
  CHECK_THAT(table, Catch::Contains("<th>baseline</th><td>" +
                                    report::short_number(state.at("baseline").get<double>())));
  CHECK_THAT(table, Catch::Contains("<th>updates</th><td>3</td>"));
  CHECK_THAT(element(html, "reinforce-history-note"), Catch::Contains("not their history"));
  CHECK(element(html, "plot-population").empty());
}

TEST_CASE("a blocks search's Pareto fronts and curves and diagram equal the store", "[report]") {
  TempDir dir("report-blocks");
  const auto db = dir.file("blocks.db");
  write_synthetic_search(db);
  const auto [html, trials, state] = report_of(dir, db);
  REQUIRE(trials.size() == kProposed + 3);
  const auto store = store::SqliteStore::open(db);

  // Accuracy against cost: every completed trial, and the front by brute force.
  for (const auto& [id, cost_of] :
       std::vector<std::pair<std::string, std::int64_t (*)(const store::TrialRow&)>>{
           {"plot-params", [](const store::TrialRow& t) { return t.result.params; }},
           {"plot-flops", [](const store::TrialRow& t) { return t.result.flops; }}}) {
    INFO(id);
    std::vector<std::pair<double, double>> points;
    for (const auto& t : trials) {
      if (t.state == TrialState::kCompleted)
        points.push_back({static_cast<double>(cost_of(t)), t.result.val_accuracy});
    }
    const auto plot = element(html, id);
    CHECK(count(plot, kPoint) == points.size());
    const auto front = front_size(points);
    CHECK(front >= 2);
    CHECK(front < points.size());
    CHECK(count(plot, "<circle class=\"point completed pareto\"") == front);
    CHECK(count(plot, "<path class=\"pareto-line\"") == 1);
  }

  // Learning curves: the 10 most accurate completed trials, every pruned and running one, each
  // with one marker per recorded epoch; the failed trial is not drawn.
  std::vector<store::TrialRow> completed;
  for (const auto& t : trials) {
    if (t.state == TrialState::kCompleted) completed.push_back(t);
  }
  REQUIRE(completed.size() > report::kTopCurves);
  std::stable_sort(completed.begin(), completed.end(), [](const auto& a, const auto& b) {
    return a.result.val_accuracy > b.result.val_accuracy;
  });
  std::vector<long> top_expected;
  for (size_t i = 0; i < report::kTopCurves; ++i) top_expected.push_back(completed[i].ordinal);
  std::sort(top_expected.begin(), top_expected.end());
  std::vector<long> top_drawn;
  std::map<std::string, int> roles;
  for (const auto& g : curve_groups(element(html, "plot-curves"))) {
    INFO("trial " << g.ordinal << " " << g.cls);
    const auto& t = trials.at(static_cast<size_t>(g.ordinal));
    CHECK(g.points == store.epochs(t.id).size());
    const auto role = g.cls.substr(0, g.cls.find(' '));
    ++roles[role];
    if (role == "top") top_drawn.push_back(g.ordinal);
    CHECK(role == (t.state == TrialState::kCompleted ? "top" : to_string(t.state)));
  }
  std::sort(top_drawn.begin(), top_drawn.end());
  CHECK(top_drawn == top_expected);
  CHECK(roles["pruned"] == 2);
  CHECK(roles["running"] == 1);
  CHECK(roles.size() == 3);

  // The diagram: one box per stage of the best architecture, with its choices, and one unit
  // per block of its depth.
  const auto best = store.best_trial(store.experiment().id);
  REQUIRE(best);
  const space::BlockSpace space(synthetic_blocks_config().at("space"));
  const auto stages = space.stages(space.parse(best->arch_canonical));
  const auto diagram = element(html, "arch-diagram");
  REQUIRE(count(diagram, "<g class=\"stage\"") == stages.size());
  int units = 0;
  for (size_t i = 0; i < stages.size(); ++i) {
    const auto& s = stages[i];
    CHECK(attributes(diagram, "data-block").at(i) == space::to_string(s.block));
    CHECK(attributes(diagram, "data-depth").at(i) == std::to_string(s.depth));
    CHECK(attributes(diagram, "data-kernel").at(i) == std::to_string(s.kernel));
    units += s.depth;
  }
  CHECK(count(diagram, "<rect class=\"unit\"") == static_cast<size_t>(units));

  // Hyperparameters: one marker per change; the promotion joined to its parent.
  CHECK(count(element(html, "plot-hparam-learning_rate"), kPoint) == kProposed);
  CHECK(count(element(html, "plot-hparam-epochs"), kPoint) == 1);
  CHECK(count(element(html, "plot-promotions"), "<path class=\"promotion-line\"") == 1);

  // The table: one row per trial, the running and pending ones included.
  const auto table = element(html, "trials");
  CHECK(count(table, "<tr class=\"trial ") == trials.size());
  CHECK(count(table, "<tr class=\"trial running\"") == 1);
  CHECK(count(table, "<tr class=\"trial pending\"") == 1);
  CHECK_THAT(table, Catch::Contains("training diverged"));
  CHECK_THAT(element(html, "summary"),
             Catch::Contains("1 running") && Catch::Contains("1 pending"));
  CHECK_THAT(html, Catch::Contains("id=\"still-running\""));
}

TEST_CASE("a search whose only trial is running gets a report with no best yet", "[report]") {
  TempDir dir("report-running");
  const auto db = dir.file("running.db");
  const auto config = nb201_search({{"type", "random"}}, 5);
  std::int64_t trial = 0;
  {
    auto store = store::SqliteStore::create(db);
    const auto experiment = store.create_experiment("running", config);
    const space::Nb201Space space;
    Rng rng(1);
    const auto arch = space.random(rng);
    store::NewTrial row;
    row.arch_canonical = arch.canonical();
    row.arch_hash = arch.hash();
    row.arch = space.to_json(arch);
    trial = store.create_trial(experiment, row, {0, json::to_cbor(json{{"type", "random"}})});
    store.start_trial(trial);
  }
  auto html = report_of(dir, db).html;
  for (const char* id : {"plot-best-trials", "plot-best-time", "plot-curves"})
    CHECK_THAT(element(html, id), Catch::Contains("class=\"plot-empty\""));
  CHECK_THAT(html, Catch::Contains("id=\"no-best\"") && Catch::Contains("id=\"still-running\""));
  CHECK(element(html, "arch-diagram").empty());
  CHECK(count(element(html, "trials"), "<tr class=\"trial running\"") == 1);

  // Its first epoch arrives: a running curve of one point.
  EpochRecord first;
  first.epoch = 1;
  first.val_accuracy = 0.4;
  store::SqliteStore::open(db).append_epoch(trial, first);
  html = report_of(dir, db).html;
  const auto groups = curve_groups(element(html, "plot-curves"));
  REQUIRE(groups.size() == 1);
  CHECK(groups[0].cls == "running");
  CHECK(groups[0].points == 1);
}

TEST_CASE(
    "writing a report fails with a StoreError for a missing database and a DataError for "
    "an unwritable file",
    "[report]") {
  TempDir dir("report-errors");
  CHECK_THROWS_AS(report::write_report(dir.file("missing.db"), dir.file("r.html")), StoreError);
  const auto db = dir.file("nb.db");
  run_in_process(db, nb201_search({{"type", "random"}}, 2));
  CHECK_THROWS_AS(report::write_report(db, dir.file("no-such-folder/r.html")), DataError);
}

TEST_CASE("nasforge report writes the file --out names or one beside the database", "[report]") {
  TempDir dir("report-cli");
  const auto db = dir.file("search.db");
  const auto run =
      run_cli("run " + write_json(dir, "nb.json", nb201_search({{"type", "evolution"}}, 8)) +
              " --db " + db + " --quiet");
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  const auto named = run_cli("report --db " + db + " --out " + dir.file("named.html"));
  CHECK(named.exit_code == 0);
  CHECK_THAT(named.output, Catch::Contains("wrote " + dir.file("named.html") + ": 8 trials, best"));
  CHECK(count(element(read_text(dir.file("named.html")), "trials"), "<tr class=\"trial ") == 8);
  CHECK(run_cli("report --db " + db).exit_code == 0);
  CHECK(std::filesystem::exists(dir.file("search.html")));

  const auto missing = run_cli("report --db " + dir.file("none.db"));
  CHECK(missing.exit_code == 2);
  CHECK_THAT(missing.output, Catch::Contains("none.db: no such database"));
  CHECK(run_cli("report").exit_code == 2);  // --db is required
}

TEST_CASE("compression runs are a table in the report, with their ratios to the trial compressed",
          "[report]") {
  TempDir dir("report-compression");
  const auto db = dir.file("blocks.db");
  write_synthetic_search(db);
  CHECK(element(report_of(dir, db).html, "compression").empty());  // none yet: no section
  std::int64_t parent_params = 0;
  {
    auto store = store::SqliteStore::open(db);
    const auto best = store.best_trial(store.experiment().id);
    REQUIRE(best);
    parent_params = best->result.params;
    store::CompressionRow row;
    row.experiment_id = store.experiment().id;
    row.parent_ordinal = best->ordinal;
    row.method = "prune+distill";
    row.settings = {{"flops_ratio", 0.5}, {"epochs", 2}, {"nested", {{"x", 1}}}};
    row.params = parent_params / 2;
    row.flops = best->result.flops / 4;
    row.model_bytes = 123456;
    row.val_accuracy = 0.8765;
    row.test_accuracy = 0.8642;
    row.latency_ms = 1.25;
    row.out_dir = "/tmp/compressed-best";
    store.record_compression(row);
  }
  const auto table = element(report_of(dir, db).html, "compressions");
  REQUIRE_FALSE(table.empty());
  CHECK(count(table, "<tr class=\"compression\"") == 1);
  CHECK_THAT(table, Catch::Contains(">prune+distill<") && Catch::Contains("(0.50x)") &&
                        Catch::Contains("(0.25x)") && Catch::Contains(">87.65<") &&
                        Catch::Contains(">86.42<") && Catch::Contains(">1.250<") &&
                        Catch::Contains("epochs=2 flops_ratio=0.5") &&
                        Catch::Contains("/tmp/compressed-best"));
  CHECK_THAT(table, !Catch::Contains("nested"));
}

TEST_CASE("under an objective the report's best trial is the search's: the highest reward",
          "[report]") {
  TempDir dir("report-objective");
  const auto db = dir.file("objective.db");
  auto config = nb201_search({{"type", "random"}}, 2);
  config["objective"] = {{"cost", "params"}, {"target", 1000000}};
  {
    auto store = store::SqliteStore::create(db);
    const auto experiment = store.create_experiment("objective", config);
    const space::Nb201Space space;
    Rng rng(4);
    // Trial 0: the more accurate; trial 1: the higher reward (it is far smaller).
    for (const auto& [accuracy, reward] :
         std::vector<std::pair<double, double>>{{0.91, 0.80}, {0.85, 0.84}}) {
      const auto arch = space.random(rng);
      store::NewTrial row;
      row.ordinal = static_cast<std::int64_t>(store.trials(experiment).size());
      row.arch_canonical = arch.canonical();
      row.arch_hash = arch.hash();
      row.arch = space.to_json(arch);
      const auto id = store.create_trial(experiment, row, {0, json::to_cbor(json::object())});
      store.start_trial(id);
      TrialResult result;
      result.state = TrialState::kCompleted;
      result.val_accuracy = accuracy;
      result.epochs = 1;
      result.metrics["reward"] = reward;
      store.finish_trial(id, result, {1, json::to_cbor(json::object())});
    }
  }
  const auto html = report_of(dir, db).html;
  CHECK_THAT(element(html, "summary"), Catch::Contains("85.00% (trial 1)"));
  CHECK_THAT(element(html, "architecture"), Catch::Contains("Trial 1,"));
}
