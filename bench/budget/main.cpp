// Single-fidelity vs multi-fidelity search at equal cost on the NAS-Bench-201 table (Dong & Yang,
// ICLR 2020). A query at 200 epochs (cifar10_valid) costs 1, one at 12 epochs
// (cifar10_valid_12ep) costs 12/200. Single-fidelity strategies query 200 epochs only;
// multi-fidelity ones run successive halving or Hyperband (12 -> 200 epochs) with a controller
// proposing the first rung. Each run is the real SearchLoop on a SQLite store in a temporary
// folder, with budget {"cost": C}; the architecture finally chosen (store.best_trial: the best at
// the highest fidelity) is judged by its 200-epoch cifar10_valid. Smaller budgets are read from the
// same run's trials in order (the loop is sequential, so a prefix is what a smaller budget runs).
//
//   budget_bench [--seeds N] [--budgets 50,100] [--jobs J] [--table PATH] [--tmp DIR]
//                [--strategy NAME=EXPERIMENT_JSON_FRAGMENT]...
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "bench/common/bench_cli.h"
#include "bench/common/bench_util.h"
#include "bench/common/nb201_search.h"
#include "common/errors.h"
#include "common/log.h"
#include "search/experiment.h"
#include "trainer/nb201_table.h"

namespace {

using namespace nasforge;
using nlohmann::json;

struct Strategy {
  std::string name;
  json fragment;  // merged into the experiment: "controller", and "fidelity" for multi-fidelity
  std::string baseline;  // the single-fidelity strategy it is compared with
};

struct Options {
  int seeds = 100;
  int jobs = 2;
  std::vector<int> budgets = {50, 100};
  std::string table = NASFORGE_NB201_TABLE;
  std::string tmp;
  std::vector<Strategy> strategies;
};

struct Outcome {
  double chosen_valid = 0;  // 200-epoch cifar10_valid of the chosen architecture
  double cost = 0;
  int trials = 0;
  int full_trials = 0;
};

constexpr const char* kAbout =
    "Single- vs multi-fidelity search at equal cost on the NAS-Bench-201 table";

void add_flags(CLI::App& app, Options& o) {
  bench::add_seed_flags(app, o.seeds, o.budgets, o.jobs, o.table,
                        "costs (in full queries) at which to judge");
  app.add_option("--tmp", o.tmp, "folder of the runs' SQLite stores (default: /dev/shm)");
  bench::add_named_json(
      app, "--strategy",
      [&o](const std::string& name, const json& fragment) {
        o.strategies.push_back({name, fragment, ""});
      },
      "an experiment fragment (\"controller\", \"fidelity\") to run (repeatable; default: "
      "random, evolution and their successive-halving and Hyperband variants)");
}

// What the flags leave to the defaults: the folder of the stores and the strategies.
void apply_defaults(Options& o) {
  o.jobs = std::max(1, o.jobs);
  if (o.tmp.empty()) o.tmp = bench::default_tmp_dir();
  if (o.strategies.empty()) {
    const json random = {{"type", "random"}};
    const json evolution = {{"type", "evolution"}};
    const json sh = {
        {"type", "successive_halving"}, {"rungs", {12, 200}}, {"eta", 3}, {"bracket_size", 27}};
    const json sh9 = {
        {"type", "successive_halving"}, {"rungs", {12, 200}}, {"eta", 9}, {"bracket_size", 54}};
    const json hb = {{"type", "hyperband"}, {"rungs", {12, 200}}, {"eta", 3}, {"bracket_size", 27}};
    o.strategies = {
        {"random", {{"controller", random}}, ""},
        {"evolution", {{"controller", evolution}}, ""},
        {"sh3-random", {{"controller", random}, {"fidelity", sh}}, "random"},
        {"sh3-evolution", {{"controller", evolution}, {"fidelity", sh}}, "evolution"},
        {"sh9-evolution", {{"controller", evolution}, {"fidelity", sh9}}, "evolution"},
        {"hb3-evolution", {{"controller", evolution}, {"fidelity", hb}}, "evolution"},
    };
  }
}

// The strategy's experiment for one seed, run to the largest budget.
search::Experiment experiment_for(const Strategy& strategy, std::uint64_t seed,
                                  const Options& options) {
  return bench::nb201_experiment(strategy.name, strategy.fragment, seed, options.budgets.back(),
                                 options.table, "--strategy " + strategy.name);
}

// One search to the largest budget; the outcome at each budget.
std::vector<Outcome> run_one(const Strategy& strategy, std::uint64_t seed, const Options& options,
                             const std::shared_ptr<const trainer::Nb201Table>& shared,
                             int valid_column) {
  const auto& table = *shared;
  const auto trials =
      bench::run_nb201_search(experiment_for(strategy, seed, options), shared, options.tmp);
  std::vector<Outcome> out;
  for (int budget : options.budgets) {
    const auto reached = bench::reached_within(trials, budget);
    if (!reached.best) throw InternalError(strategy.name + ": nothing completed within the budget");
    Outcome o;
    o.cost = reached.cost;
    o.trials = reached.trials;
    o.full_trials = reached.full_trials;
    o.chosen_valid = table.value(*table.find(reached.best->arch_canonical), valid_column);
    out.push_back(o);
  }
  return out;
}

using bench::mean;
using bench::stddev;

int run(Options& options) {
  apply_defaults(options);
  // A bad --strategy is an error here (exit 2), not in a worker thread.
  for (const auto& strategy : options.strategies) experiment_for(strategy, 1, options);
  log::set_level(log::Level::kWarn);
  const auto table = std::make_shared<const trainer::Nb201Table>(options.table);
  const int valid_column = table->column("cifar10_valid");
  std::printf(
      "NAS-Bench-201, chosen architecture's cifar10_valid (200 epochs); cost in full "
      "queries (12 epochs = 0.06); %d seeds\n",
      options.seeds);
  std::printf("%-14s %6s %9s %7s %8s %8s %9s %18s\n", "strategy", "budget", "mean", "std", "trials",
              "full", "cost", "diff vs baseline");
  // results[strategy][budget] = chosen values over seeds
  std::map<std::string, std::vector<std::vector<double>>> results;
  for (const auto& strategy : options.strategies) {
    const auto started = std::chrono::steady_clock::now();
    std::vector<std::vector<Outcome>> runs(static_cast<size_t>(options.seeds));
    bench::for_each_seed(options.seeds, options.jobs, [&](int s) {
      runs[static_cast<size_t>(s)] =
          run_one(strategy, static_cast<std::uint64_t>(s + 1), options, table, valid_column);
    });
    auto& values = results[strategy.name];
    for (size_t b = 0; b < options.budgets.size(); ++b) {
      std::vector<double> v, trials, full, cost;
      for (const auto& r : runs) {
        v.push_back(r[b].chosen_valid);
        trials.push_back(r[b].trials);
        full.push_back(r[b].full_trials);
        cost.push_back(r[b].cost);
      }
      values.push_back(v);
      char diff[64] = "";
      if (!strategy.baseline.empty() && results.count(strategy.baseline)) {
        const auto& base = results[strategy.baseline][b];
        const double d = mean(v) - mean(base);
        const double se = std::sqrt((stddev(v) * stddev(v) + stddev(base) * stddev(base)) /
                                    static_cast<double>(options.seeds));
        std::snprintf(diff, sizeof diff, "%+.3f +- %.3f (%s)", d, se, strategy.baseline.c_str());
      }
      std::printf("%-14s %6d %9.3f %7.3f %8.1f %8.1f %9.2f   %s\n", strategy.name.c_str(),
                  options.budgets[b], mean(v), stddev(v), mean(trials), mean(full), mean(cost),
                  diff);
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::fprintf(stderr, "%s: %.1f s\n", strategy.name.c_str(), seconds);
    std::fflush(stdout);
  }
  std::printf("(diff: mean difference from the single-fidelity baseline +- its standard error)\n");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return nasforge::bench::run_main<Options>(argc, argv, "budget_bench", kAbout, add_flags, run);
}
