// Accuracy against cost: the MnasNet reward, searches ranked by it on the NAS-Bench-201 table
// (whose costs are the benchmark network's, counted), the store's Pareto front, and `export`
// under --max-params / --max-flops.
#include "tests/nasforge_catch.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <tuple>

#include "common/errors.h"
#include "search/experiment.h"
#include "search/objective.h"
#include "search/search_loop.h"
#include "space/nb201_space.h"
#include "store/sqlite_store.h"
#include "tests/search/cli_helpers.h"

using namespace nasforge;
using namespace nasforge::testing;
using nlohmann::json;

namespace {

json table_search(const json& controller, int trials, const json& objective = nullptr) {
  auto j = nb201_table_search("cost", 17, controller, trials);
  if (!objective.is_null()) j["objective"] = objective;
  return j;
}

std::vector<store::TrialRow> run_search(const std::string& db, const json& config) {
  const auto experiment = search::Experiment::from_json(config, "test");
  auto store = store::SqliteStore::create(db);
  store.create_experiment(experiment.name, experiment.to_json());
  auto prepared = search::prepare(experiment);
  search::SearchLoop loop(store, store.experiment().id, experiment, prepared, db + ".artifacts");
  loop.run();
  return store.trials(store.experiment().id);
}

// The constrained search's target: below the parameters of the most accurate of the 60 cells
// that the seeded random search proposes (615,386), above many others.
constexpr double kTarget = 500'000;

std::string one_line_error(const json& config) {
  try {
    search::Experiment::from_json(config, "e");
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

// The completed trials no other dominates (ties: the earlier), by brute force, by cost.
std::vector<std::int64_t> brute_force_front(const std::vector<store::TrialRow>& trials,
                                            bool by_params) {
  const auto cost = [&](const store::TrialRow& t) {
    return by_params ? t.result.params : t.result.flops;
  };
  std::vector<const store::TrialRow*> front;
  for (const auto& a : trials) {
    if (a.state != TrialState::kCompleted || cost(a) <= 0) continue;
    bool dominated = false;
    for (const auto& b : trials) {
      if (&a == &b || b.state != TrialState::kCompleted || cost(b) <= 0) continue;
      const double ca = static_cast<double>(cost(a)), cb = static_cast<double>(cost(b));
      const double aa = a.result.val_accuracy, ab = b.result.val_accuracy;
      const bool better = cb <= ca && ab >= aa && (cb < ca || ab > aa);
      const bool same_but_earlier = cb == ca && ab == aa && b.ordinal < a.ordinal;
      if (better || same_but_earlier) dominated = true;
    }
    if (!dominated) front.push_back(&a);
  }
  std::sort(front.begin(), front.end(),
            [&](const auto* x, const auto* y) { return cost(*x) < cost(*y); });
  std::vector<std::int64_t> ordinals;
  for (const auto* t : front) ordinals.push_back(t->ordinal);
  return ordinals;
}

std::vector<std::int64_t> ordinals(const std::vector<store::TrialRow>& rows) {
  std::vector<std::int64_t> out;
  for (const auto& r : rows) out.push_back(r.ordinal);
  return out;
}

double metric(const store::TrialRow& t, const std::string& name) {
  const auto it = t.result.metrics.find(name);
  return it == t.result.metrics.end() ? -1.0 : it->second;
}

}  // namespace

TEST_CASE("the MnasNet reward in penalty and constraint modes by hand", "[search]") {
  const auto penalty = search::Objective::from_json(
      json{{"cost", "params"}, {"target", 1e6}, {"mode", "penalty"}}, "objective");
  CHECK(penalty.exponent == -0.07);
  // 0.9 * 2^-0.07, 0.9 * 0.5^-0.07, 0.8 * 3^-0.07: soft, above and below the target alike.
  CHECK(penalty.reward(0.9, 2e6) == Approx(0.8573741982395436));
  CHECK(penalty.reward(0.9, 5e5) == Approx(0.9447450152607606));
  CHECK(penalty.reward(0.8, 3e6) == Approx(0.740783838979188));
  CHECK(penalty.reward(0.9, 1e6) == Approx(0.9));

  const auto hard = search::Objective::from_json(
      json{{"cost", "flops"}, {"target", 1e6}, {"mode", "constraint"}}, "objective");
  CHECK(hard.exponent == -1);
  CHECK(hard.reward(0.9, 5e5) == Approx(0.9));  // w = 0 at or below the target
  CHECK(hard.reward(0.9, 1e6) == Approx(0.9));
  CHECK(hard.reward(0.9, 2e6) == Approx(0.45));  // 0.9 * 2^-1
  CHECK(hard.reward(0.7, 1.5e6) == Approx(0.4666666666666666));

  const auto steep = search::Objective::from_json(
      json{{"cost", "latency_ms"}, {"target", 2}, {"mode", "constraint"}, {"exponent", -0.5}},
      "objective");
  CHECK(steep.reward(0.9, 8) == Approx(0.45));  // 0.9 * 4^-0.5
  CHECK(steep.reward(0.9, 1) == Approx(0.9));

  // The cost a result has, by name; none measured is nothing.
  TrialResult result;
  result.params = 1234;
  result.flops = 5678;
  CHECK(*penalty.cost_of(result) == 1234);
  CHECK(*hard.cost_of(result) == 5678);
  CHECK_FALSE(steep.cost_of(result));
  result.metrics["latency_ms"] = 3.5;
  CHECK(*steep.cost_of(result) == 3.5);
  // Round trip through the stored experiment.
  CHECK(search::Objective::from_json(steep.to_json(), "o").to_json() == steep.to_json());
}

TEST_CASE("a bad objective is one ConfigError naming its field", "[search]") {
  const auto with = [](const json& objective) {
    return one_line_error(table_search({{"type", "random"}}, 5, objective));
  };
  CHECK_THAT(with({{"cost", "energy"}, {"target", 1}}),
             Catch::StartsWith("e.objective.cost: unknown cost 'energy'"));
  CHECK_THAT(with({{"cost", "params"}}), Catch::Contains("e.objective: missing required key"));
  CHECK_THAT(with({{"cost", "params"}, {"target", 0}}),
             Catch::StartsWith("e.objective.target: expected a positive number"));
  CHECK_THAT(with({{"cost", "params"}, {"target", "1M"}}),
             Catch::StartsWith("e.objective.target: expected a number"));
  CHECK_THAT(with({{"cost", "params"}, {"target", 1}, {"mode", "soft"}}),
             Catch::StartsWith("e.objective.mode: unknown mode 'soft'"));
  CHECK_THAT(with({{"cost", "params"}, {"target", 1}, {"exponent", 0.07}}),
             Catch::StartsWith("e.objective.exponent: expected a negative number"));
  CHECK_THAT(with({{"cost", "params"}, {"target", 1}, {"weight", 1}}),
             Catch::StartsWith("e.objective: unknown key \"weight\""));
  CHECK_THAT(with({{"cost", "latency_ms"}, {"target", 5}}),
             Catch::StartsWith("e.objective.cost: latency_ms is measured on a trained network"));
  for (const auto& message :
       {with({{"cost", "energy"}, {"target", 1}}), with({{"cost", "latency_ms"}, {"target", 5}})}) {
    CHECK(message.find('\n') == std::string::npos);
  }

  // The CLI: one line and exit 2, like every other bad experiment file.
  TempDir dir("objective-bad");
  const auto config =
      write_json(dir, "bad.json", table_search({{"type", "random"}}, 5, {{"cost", "params"}}));
  const auto run = run_cli("run " + config + " --db " + dir.file("bad.db"));
  INFO(run.output);
  CHECK(run.exit_code == 2);
  CHECK(std::count(run.output.begin(), run.output.end(), '\n') == 1);
  CHECK_THAT(run.output, Catch::Contains("objective: missing required key \"target\""));
}

TEST_CASE("a params constraint makes the search's best fit it where accuracy alone does not",
          "[search]") {
  TempDir dir("objective-constraint");
  // Random search proposes the same cells whatever it observes: the two searches differ only in
  // how they rank them.
  const json random = {{"type", "random"}};
  const json objective = {{"cost", "params"}, {"target", kTarget}, {"mode", "constraint"}};
  const auto plain = run_search(dir.file("plain.db"), table_search(random, 60));
  const auto constrained = run_search(dir.file("hard.db"), table_search(random, 60, objective));
  REQUIRE(plain.size() == 60);
  REQUIRE(ordinals(plain) == ordinals(constrained));

  const auto plain_store = store::SqliteStore::open(dir.file("plain.db"));
  const auto hard_store = store::SqliteStore::open(dir.file("hard.db"));
  const auto experiment =
      search::Experiment::from_json(hard_store.experiment().config, "stored config");
  REQUIRE(experiment.objective);
  const auto plain_best = plain_store.best_trial(plain_store.experiment().id);
  const auto hard_best = hard_store.best_trial(hard_store.experiment().id,
                                               search::best_trial_query(experiment.objective));
  REQUIRE(plain_best);
  REQUIRE(hard_best);
  INFO("plain best: trial " << plain_best->ordinal << ", " << plain_best->result.params
                            << " params; constrained: trial " << hard_best->ordinal << ", "
                            << hard_best->result.params);
  CHECK(plain_best->result.params > kTarget);
  CHECK(hard_best->result.params <= kTarget);
  CHECK(hard_best->result.val_accuracy < plain_best->result.val_accuracy);

  // Every completed trial: the raw accuracy in the row, the reward as a metric, by hand.
  const store::TrialRow* expected = nullptr;
  for (size_t i = 0; i < constrained.size(); ++i) {
    const auto& t = constrained[i];
    REQUIRE(t.state == TrialState::kCompleted);
    CHECK(t.arch_canonical == plain[i].arch_canonical);
    CHECK(t.result.val_accuracy == plain[i].result.val_accuracy);
    CHECK(t.result.params > 0);
    const double params = static_cast<double>(t.result.params);
    const double reward = t.result.val_accuracy * (params <= kTarget ? 1.0 : kTarget / params);
    CHECK(metric(t, "reward") == Approx(reward));
    if (!expected || reward > metric(*expected, "reward")) expected = &t;
  }
  CHECK(hard_best->ordinal == expected->ordinal);

  // The CLI's summary names the same best, with its reward.
  const auto status = run_cli("status --db " + dir.file("hard.db"));
  INFO(status.output);
  CHECK(status.exit_code == 0);
  CHECK_THAT(status.output,
             Catch::Contains("best: trial " + std::to_string(hard_best->ordinal) + ", val acc ") &&
                 Catch::Contains(", reward ") && Catch::Contains("objective: reward = val acc"));
}

TEST_CASE("the controller observes the reward and not the raw accuracy", "[search]") {
  TempDir dir("objective-observe");
  const json evolution = {{"type", "evolution"}, {"population", 8}, {"sample", 3}};
  const json objective = {{"cost", "flops"}, {"target", 50e6}, {"mode", "penalty"}};
  const auto trials = run_search(dir.file("e.db"), table_search(evolution, 24, objective));
  const auto store = store::SqliteStore::open(dir.file("e.db"));
  const auto state = json::from_cbor(store.controller_state(store.experiment().id)->cbor);
  // Evolution keeps the reward of each member it observed: the stored rewards of its trials.
  std::map<std::string, double> reward_of, accuracy_of;
  for (const auto& t : trials) {
    reward_of[t.arch_canonical] = metric(t, "reward");
    accuracy_of[t.arch_canonical] = t.result.val_accuracy;
  }
  const space::Nb201Space space;
  REQUIRE(state.at("population").size() == 8);
  for (const auto& member : state.at("population")) {
    const auto arch = space.make(member.at("choices").get<std::vector<int>>()).canonical();
    const double observed = member.at("reward").get<double>();
    CHECK(observed == Approx(reward_of.at(arch)));
    CHECK(observed != Approx(accuracy_of.at(arch)));
  }
}

TEST_CASE("the store's Pareto front is the brute-force front over the trials", "[search]") {
  TempDir dir("objective-pareto");
  const auto trials = run_search(dir.file("p.db"), table_search({{"type", "random"}}, 80));
  const auto store = store::SqliteStore::open(dir.file("p.db"));
  const auto id = store.experiment().id;
  const auto by_params = store.pareto_front(id, "params");
  const auto by_flops = store.pareto_front(id, "flops");
  CHECK(by_params.size() >= 3);
  CHECK(ordinals(by_params) == brute_force_front(trials, true));
  CHECK(ordinals(by_flops) == brute_force_front(trials, false));
  // Along the front accuracy rises with cost.
  for (size_t i = 1; i < by_params.size(); ++i) {
    CHECK(by_params[i].result.params > by_params[i - 1].result.params);
    CHECK(by_params[i].result.val_accuracy > by_params[i - 1].result.val_accuracy);
  }
  // No cost measured (a metric no trial has): no front.
  CHECK(store.pareto_front(id, "latency_ms").empty());

  // status prints it.
  const auto status = run_cli("status --db " + dir.file("p.db"));
  INFO(status.output);
  CHECK(status.exit_code == 0);
  CHECK_THAT(status.output, Catch::Contains("pareto front (val acc against parameters): " +
                                            std::to_string(by_params.size()) + " trials"));
  CHECK_THAT(status.output,
             Catch::Contains("  trial " + std::to_string(by_params.front().ordinal) + ": "));
  CHECK_THAT(status.output,
             Catch::Contains("  trial " + std::to_string(by_params.back().ordinal) + ": "));
}

TEST_CASE("export --max-params picks the best trial under the limit and exits 2 when none fits",
          "[search]") {
  TempDir dir("objective-export");
  const json objective = {{"cost", "params"}, {"target", 1e6}, {"mode", "penalty"}};
  const auto config = write_json(dir, "c.json", table_search({{"type", "random"}}, 40, objective));
  const auto db = dir.file("c.db");
  const auto run = run_cli("run " + config + " --db " + db + " --quiet");
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  const auto store = store::SqliteStore::open(db);
  const auto trials = store.trials(store.experiment().id);
  std::vector<std::int64_t> params;
  for (const auto& t : trials) params.push_back(t.result.params);
  std::sort(params.begin(), params.end());
  const auto read_exported = [](const std::string& dir_path) {
    json model;
    std::ifstream(dir_path + "/architecture.json") >> model;
    return model;
  };

  for (const auto limit : {params[params.size() / 4], params[params.size() / 2]}) {
    // By hand: the highest reward among the completed trials within the limit (all 200 epochs).
    const store::TrialRow* expected = nullptr;
    for (const auto& t : trials) {
      if (t.result.params > limit) continue;
      if (!expected || metric(t, "reward") > metric(*expected, "reward")) expected = &t;
    }
    REQUIRE(expected);
    const auto out = dir.file("model-" + std::to_string(limit));
    const auto exported =
        run_cli("export --db " + db + " --out " + out + " --max-params " + std::to_string(limit));
    INFO(exported.output);
    REQUIRE(exported.exit_code == 0);
    const auto model = read_exported(out);
    CHECK(model.at("trial").get<std::int64_t>() == expected->ordinal);
    CHECK(model.at("params").get<std::int64_t>() <= limit);
    CHECK(model.at("metrics").at("reward").get<double>() == Approx(metric(*expected, "reward")));
  }

  // FLOPs: the same rule.
  std::vector<std::int64_t> flops;
  for (const auto& t : trials) flops.push_back(t.result.flops);
  std::sort(flops.begin(), flops.end());
  const auto flop_limit = flops[flops.size() / 3];
  const store::TrialRow* expected = nullptr;
  for (const auto& t : trials) {
    if (t.result.flops > flop_limit) continue;
    if (!expected || metric(t, "reward") > metric(*expected, "reward")) expected = &t;
  }
  REQUIRE(expected);
  const auto flop_out = dir.file("model-flops");
  const auto by_flops = run_cli("export --db " + db + " --out " + flop_out + " --max-flops " +
                                std::to_string(flop_limit));
  INFO(by_flops.output);
  REQUIRE(by_flops.exit_code == 0);
  CHECK(read_exported(flop_out).at("trial").get<std::int64_t>() == expected->ordinal);

  // Nothing fits: one line, exit 2, no folder written.
  const auto none =
      run_cli("export --db " + db + " --out " + dir.file("none") + " --max-params 1000");
  INFO(none.output);
  CHECK(none.exit_code == 2);
  CHECK(std::count(none.output.begin(), none.output.end(), '\n') == 1);
  CHECK_THAT(none.output, Catch::Contains("no completed trial within --max-params 1000") &&
                              Catch::Contains("the smallest"));
  CHECK_FALSE(std::filesystem::exists(dir.file("none")));
  const auto bad = run_cli("export --db " + db + " --out " + dir.file("bad") + " --max-flops -5");
  CHECK(bad.exit_code == 2);
  CHECK_THAT(bad.output, Catch::Contains("--max-flops"));
}

TEST_CASE("a latency objective measures each trained network's CPU latency", "[search]") {
  TempDir dir("objective-latency");
  const auto config = json::parse(R"({
    "name": "latency", "seed": 3, "budget": {"trials": 2},
    "space": {"type": "blocks", "stem_width": 8, "stages": [
      {"block": ["basic", "bottleneck"], "depth": [1], "width": [8, 16]}]},
    "controller": {"type": "random"},
    "dataset": {"name": "synthetic", "format": "synthetic", "validation_fraction": 0.2},
    "training": {"epochs": 1, "batch_size": 64, "learning_rate": 0.05, "device": "cpu",
                 "threads": 1},
    "objective": {"cost": "latency_ms", "target": 0.5, "mode": "penalty"}})");
  const auto trials = run_search(dir.file("l.db"), config);
  REQUIRE(trials.size() == 2);
  for (const auto& t : trials) {
    REQUIRE(t.state == TrialState::kCompleted);
    const double latency = metric(t, "latency_ms");
    CHECK(latency > 0);
    CHECK(latency < 1000);
    CHECK(metric(t, "reward") == Approx(t.result.val_accuracy * std::pow(latency / 0.5, -0.07)));
  }
  // Without a latency objective nothing is measured.
  auto plain = config;
  plain.erase("objective");
  for (const auto& t : run_search(dir.file("plain.db"), plain)) {
    CHECK(t.result.metrics.count("latency_ms") == 0);
    CHECK(t.result.metrics.count("reward") == 0);
  }
}

TEST_CASE("successive halving promotes by the reward under an objective", "[search]") {
  TempDir dir("objective-halving");
  auto config = table_search({{"type", "random"}}, 12,
                             {{"cost", "params"}, {"target", 300'000}, {"mode", "constraint"}});
  config["fidelity"] = {
      {"type", "successive_halving"}, {"rungs", {12, 200}}, {"eta", 3}, {"bracket_size", 9}};
  const auto trials = run_search(dir.file("h.db"), config);
  REQUIRE(trials.size() == 12);
  // The first 9 are the bracket's candidates at 12 epochs; the 3 promotions are its top 3 by
  // reward, best first (ties to the earlier), which here differs from the top 3 by accuracy.
  std::vector<std::int64_t> by_reward, by_accuracy;
  for (std::int64_t i = 0; i < 9; ++i) {
    REQUIRE(trials[static_cast<size_t>(i)].kind == TrialKind::kNew);
    by_reward.push_back(i);
    by_accuracy.push_back(i);
  }
  const auto at = [&](std::int64_t i) { return trials[static_cast<size_t>(i)]; };
  std::stable_sort(by_reward.begin(), by_reward.end(), [&](auto a, auto b) {
    return metric(at(a), "reward") > metric(at(b), "reward");
  });
  std::stable_sort(by_accuracy.begin(), by_accuracy.end(), [&](auto a, auto b) {
    return at(a).result.val_accuracy > at(b).result.val_accuracy;
  });
  by_reward.resize(3);
  by_accuracy.resize(3);
  std::vector<std::int64_t> parents;
  for (size_t i = 9; i < 12; ++i) {
    REQUIRE(trials[i].kind == TrialKind::kPromotion);
    parents.push_back(*trials[i].parent);
    CHECK(trials[i].result.epochs == 200);
    CHECK(metric(trials[i], "reward") > 0);
  }
  CHECK(parents == by_reward);
  CHECK(parents != by_accuracy);
}

TEST_CASE("a search under an objective stopped and resumed proposes what an uninterrupted one does",
          "[search]") {
  const json objective = {{"cost", "flops"}, {"target", 60e6}, {"mode", "constraint"}};
  auto halving = table_search({{"type", "random"}}, 0, objective);
  halving["fidelity"] = {
      {"type", "successive_halving"}, {"rungs", {12, 200}}, {"eta", 3}, {"bracket_size", 9}};
  // Evolution's population is in its saved state; successive halving's rung is rebuilt from the
  // stored rewards (stopped within the first bracket, before its promotions).
  for (const auto& [name, base, stop, total] :
       {std::tuple{
            "evolution",
            table_search({{"type", "evolution"}, {"population", 6}, {"sample", 3}}, 0, objective),
            12, 30},
        std::tuple{"halving", halving, 7, 24}}) {
    DYNAMIC_SECTION(name) {
      TempDir dir("objective-resume");
      auto config = base;
      config["budget"]["trials"] = total;
      const auto uninterrupted = run_search(dir.file("a.db"), config);
      auto first = config;
      first["budget"]["trials"] = stop;
      run_search(dir.file("b.db"), first);
      const auto experiment = search::Experiment::from_json(config, "test");
      {
        auto store = store::SqliteStore::open(dir.file("b.db"));
        auto prepared = search::prepare(experiment);
        search::SearchLoop loop(store, store.experiment().id, experiment, prepared,
                                dir.file("b.db.artifacts"));
        loop.run();
      }
      const auto resumed = store::SqliteStore::open(dir.file("b.db"));
      const auto rows = resumed.trials(resumed.experiment().id);
      REQUIRE(rows.size() == uninterrupted.size());
      for (size_t i = 0; i < rows.size(); ++i) {
        CHECK(rows[i].arch_canonical == uninterrupted[i].arch_canonical);
        CHECK(rows[i].parent == uninterrupted[i].parent);
        CHECK(metric(rows[i], "reward") == metric(uninterrupted[i], "reward"));
      }
    }
  }
}
