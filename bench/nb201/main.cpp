// Measures search strategies on the NAS-Bench-201 table (Dong & Yang, ICLR 2020) with the
// literature's protocol: search on cifar10_valid, report the chosen cell's (best cifar10_valid
// seen) test accuracy on CIFAR-100 and ImageNet16-120. Every proposal costs one query, a repeat
// included; all controllers but random avoid repeats themselves. Per strategy and budget: the
// mean and spread of the best cifar10_valid, its regret to the table's optimum, the share of runs
// that found the optimum, and the chosen cells' transfer; then each controller's overhead.
//
// --anytime charges each query its simulated training time instead, at a fixed cost of one unit
// per epoch trained (the table holds no times): 200 for a 200-epoch query, 12 for a 12-epoch one.
// Single-fidelity strategies query 200 epochs; multi-fidelity ones run successive halving or
// Hyperband over rungs [12, 200] with a controller proposing the first rung. Every strategy runs
// as a user runs it, through the real SearchLoop on a SQLite store (bench/common/nb201_search.h).
// At each checkpoint (in full trainings of 200 epochs) it prints the regret of the best 200-epoch
// result found so far (a 12-epoch result is no answer: it is not comparable), its spread, and the
// paired difference from single-fidelity evolution, so that both kinds compare at equal cost.
//
//   nb201_bench [--seeds N] [--budgets 50,100,150,300] [--jobs J] [--table PATH]
//               [--strategy NAME=CONTROLLER_JSON]...
//   nb201_bench --anytime [--checkpoints 25,50,75,100,150,200,300] [--seeds N] [--jobs J] [--table
//   PATH]
//               [--strategy NAME=CONTROLLER_JSON]... [--multi-fidelity NAME=EXPERIMENT_JSON]...
//               [--baseline NAME] [--tmp DIR]
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "bench/common/bench_cli.h"
#include "bench/common/bench_util.h"
#include "bench/common/nb201_search.h"
#include "common/errors.h"
#include "common/log.h"
#include "controllers/controller.h"
#include "space/nb201_space.h"
#include "trainer/nb201_table.h"

namespace {

using namespace nasforge;
using Clock = std::chrono::steady_clock;

struct Strategy {
  std::string name;
  nlohmann::json config;  // a controller; under --anytime, an experiment fragment
};

struct Options {
  int seeds = 100;
  int jobs = 1;
  std::vector<int> budgets = {50, 100, 150, 300};
  std::string table = NASFORGE_NB201_TABLE;
  std::vector<Strategy> strategies;
  bool anytime = false;
  std::vector<int> checkpoints = {25, 50, 75, 100, 150, 200, 300};
  std::vector<Strategy> multi_fidelity;  // experiment fragments with "controller" and "fidelity"
  std::string baseline = "evolution";
  std::string tmp;
};

// What one run had chosen when it reached a budget.
struct Checkpoint {
  double best_valid = 0;
  double cifar100_test = 0;
  double imagenet16_test = 0;
};

struct RunResult {
  std::vector<Checkpoint> at_budget;
  double propose_seconds = 0;
  double observe_seconds = 0;
  long queries = 0;
  long unique_queries = 0;
};

constexpr const char* kAbout = "Search strategies on the NAS-Bench-201 table";
constexpr int kFullEpochs = 200;  // cifar10_valid; the 12-epoch column is the lower rung

// --anytime's multi-fidelity strategies unless --multi-fidelity names others: successive halving
// over rungs [12, 200] with eta 3 (27 candidates at 12 epochs, the best 9 at 200) and with eta 5
// (25, the best 5), and Hyperband. (The predictor's own cost, about 30 s per seed for 300 full
// trainings under eta 5, keeps it out of the default set: give it with --multi-fidelity.)
std::vector<Strategy> default_multi_fidelity() {
  auto fidelity = [](const char* type, int eta, int bracket_size) {
    return nlohmann::json{
        {"type", type}, {"rungs", {12, 200}}, {"eta", eta}, {"bracket_size", bracket_size}};
  };
  auto strategy = [](const char* controller, const nlohmann::json& fidelity) {
    return nlohmann::json{{"controller", {{"type", controller}}}, {"fidelity", fidelity}};
  };
  return {
      {"sh-evolution", strategy("evolution", fidelity("successive_halving", 3, 27))},
      {"sh5-evolution", strategy("evolution", fidelity("successive_halving", 5, 25))},
      {"sh5-local_search", strategy("local_search", fidelity("successive_halving", 5, 25))},
      {"hb-evolution", strategy("evolution", fidelity("hyperband", 3, 27))},
  };
}

void add_flags(CLI::App& app, Options& o) {
  bench::add_seed_flags(app, o.seeds, o.budgets, o.jobs, o.table,
                        "queries at which the choice is read");
  bench::add_named_json(
      app, "--strategy",
      [&o](const std::string& name, const nlohmann::json& config) {
        o.strategies.push_back({name, config});
      },
      "a controller config to run (repeatable; default: random, evolution, reinforce, "
      "local_search and predictor)");
  auto* anytime = app.add_flag(
      "--anytime", o.anytime,
      "charge each query its simulated training time (1 unit per epoch) and print regret at "
      "--checkpoints; runs the real search loop");
  app.get_option("--budgets")->excludes(anytime);
  bench::add_int_list(app, "--checkpoints", o.checkpoints,
                      "--anytime: costs, in full (200-epoch) trainings, at which to read regret",
                      bench::Order::kSorted)
      ->needs(anytime);
  bench::add_named_json(
      app, "--multi-fidelity",
      [&o](const std::string& name, const nlohmann::json& fragment) {
        o.multi_fidelity.push_back({name, fragment});
      },
      "--anytime: an experiment fragment with \"controller\" and \"fidelity\" to run "
      "(repeatable; default: successive halving over rungs [12, 200] with evolution (eta 3, "
      "brackets of 27; eta 5, brackets of 25) and local_search (eta 5), and Hyperband with "
      "evolution (eta 3))")
      ->needs(anytime);
  app.add_option("--baseline", o.baseline,
                 "--anytime: the strategy the others are compared with, seed by seed")
      ->capture_default_str()
      ->needs(anytime);
  app.add_option("--tmp", o.tmp, "--anytime: folder of the runs' SQLite stores (default: /dev/shm)")
      ->needs(anytime);
}

RunResult run_one(const Strategy& strategy, std::uint64_t seed, const std::vector<int>& budgets,
                  trainer::Nb201TableEvaluator& evaluator, int c100_column, int img16_column) {
  const space::Nb201Space space;
  auto controller = controllers::make_controller(strategy.config, space, seed);
  const auto& table = evaluator.table();
  RunResult out;
  double best = -1;
  size_t best_row = 0;
  std::map<std::string, bool> seen;
  size_t next_budget = 0;
  trainer::TrialContext context;
  for (int query = 1; query <= budgets.back(); ++query) {
    const auto t0 = Clock::now();
    const auto arch = controller->propose();
    const auto t1 = Clock::now();
    const auto result = evaluator.evaluate(arch, context);
    const auto t2 = Clock::now();
    controller->observe(arch, result.val_accuracy, result.state != TrialState::kCompleted);
    const auto t3 = Clock::now();
    out.propose_seconds += std::chrono::duration<double>(t1 - t0).count();
    out.observe_seconds += std::chrono::duration<double>(t3 - t2).count();
    ++out.queries;
    if (seen.emplace(arch.canonical(), true).second) ++out.unique_queries;
    if (result.val_accuracy > best) {
      best = result.val_accuracy;
      best_row = *table.find(arch.canonical());
    }
    while (next_budget < budgets.size() && budgets[next_budget] == query) {
      out.at_budget.push_back(
          {best * 100, table.value(best_row, c100_column), table.value(best_row, img16_column)});
      ++next_budget;
    }
  }
  return out;
}

using bench::mean;
using bench::stddev;

// The table's columns the bench reads, and its optimum.
struct TableView {
  std::shared_ptr<const trainer::Nb201Table> table;
  int valid = -1;
  int c100 = -1;
  int img16 = -1;
  double optimum = 0;
};

TableView read_table(const std::string& path) {
  TableView v;
  v.table = std::make_shared<const trainer::Nb201Table>(path);
  v.valid = v.table->column("cifar10_valid");
  v.c100 = v.table->column("cifar100_test");
  v.img16 = v.table->column("imagenet16_test");
  if (v.valid < 0 || v.c100 < 0 || v.img16 < 0) {
    throw DataError(path + ": needs cifar10_valid, cifar100_test and imagenet16_test columns");
  }
  for (size_t r = 0; r < v.table->size(); ++r)
    v.optimum = std::max(v.optimum, v.table->value(r, v.valid));
  return v;
}

int run_queries(const Options& options, const TableView& view) {
  trainer::Nb201TableEvaluator evaluator(view.table, "cifar10_valid");
  const double optimum = view.optimum;
  std::printf("NAS-Bench-201 cifar10_valid, optimum %.3f, %d seeds per strategy\n", optimum,
              options.seeds);
  std::printf("%-12s %6s %10s %7s %8s %9s %10s %10s\n", "strategy", "budget", "best_mean", "std",
              "regret", "found_opt", "c100_test", "img16_test");
  std::vector<std::string> timing_lines;
  for (const auto& strategy : options.strategies) {
    std::vector<RunResult> runs(static_cast<size_t>(options.seeds));
    bench::for_each_seed(options.seeds, options.jobs, [&](int s) {
      runs[static_cast<size_t>(s)] = run_one(strategy, static_cast<std::uint64_t>(s + 1),
                                             options.budgets, evaluator, view.c100, view.img16);
    });
    for (size_t b = 0; b < options.budgets.size(); ++b) {
      std::vector<double> best, c100, img16;
      int found = 0;
      for (const auto& r : runs) {
        best.push_back(r.at_budget[b].best_valid);
        c100.push_back(r.at_budget[b].cifar100_test);
        img16.push_back(r.at_budget[b].imagenet16_test);
        found += r.at_budget[b].best_valid >= optimum - 1e-9 ? 1 : 0;
      }
      std::printf("%-12s %6d %10.3f %7.3f %8.3f %8.0f%% %10.2f %10.2f\n", strategy.name.c_str(),
                  options.budgets[b], mean(best), stddev(best), std::max(0.0, optimum - mean(best)),
                  100.0 * found / options.seeds, mean(c100), mean(img16));
    }
    std::fflush(stdout);  // a long run shows each strategy as it finishes
    double propose = 0, observe = 0, queries = 0, unique = 0;
    for (const auto& r : runs) {
      propose += r.propose_seconds;
      observe += r.observe_seconds;
      queries += static_cast<double>(r.queries);
      unique += static_cast<double>(r.unique_queries);
    }
    char line[256];
    std::snprintf(line, sizeof line, "%-12s %10.1f us/propose %10.1f us/observe  %5.1f%% distinct",
                  strategy.name.c_str(), 1e6 * propose / queries, 1e6 * observe / queries,
                  100.0 * unique / queries);
    timing_lines.push_back(line);
  }
  std::printf("\nOverheads (mean per query; observe includes policy updates)%s:\n",
              options.jobs > 1 ? ", measured with parallel jobs" : "");
  for (const auto& l : timing_lines) std::printf("%s\n", l.c_str());
  return 0;
}

// --anytime: what one run had at a checkpoint.
struct AnytimePoint {
  bool answered = false;  // a 200-epoch result is in
  double regret = 0;      // optimum - best 200-epoch cifar10_valid so far
  double cifar100_test = 0;
  double imagenet16_test = 0;
  int trials = 0;
  int full_trials = 0;
};

std::vector<AnytimePoint> run_anytime_one(const Strategy& strategy, std::uint64_t seed,
                                          const Options& options, const TableView& view) {
  const auto experiment =
      bench::nb201_experiment(strategy.name, strategy.config, seed, options.checkpoints.back(),
                              options.table, strategy.name);
  const auto trials = bench::run_nb201_search(experiment, view.table, options.tmp);
  std::vector<AnytimePoint> out;
  for (int checkpoint : options.checkpoints) {
    const auto reached = bench::reached_within(trials, checkpoint, kFullEpochs);
    AnytimePoint p;
    p.trials = reached.trials;
    p.full_trials = reached.full_trials;
    if (reached.best && reached.best->result.epochs >= kFullEpochs) {
      const auto row = *view.table->find(reached.best->arch_canonical);
      p.answered = true;
      p.regret = view.optimum - view.table->value(row, view.valid);
      p.cifar100_test = view.table->value(row, view.c100);
      p.imagenet16_test = view.table->value(row, view.img16);
    }
    out.push_back(p);
  }
  return out;
}

// "-0.123 +- 0.020 (31/60/9)": the mean per-seed difference of regret from the baseline, its
// standard error, and the seeds lower/equal/higher, over the seeds where both have an answer.
std::string paired_difference(const std::vector<AnytimePoint>& runs,
                              const std::vector<AnytimePoint>& base) {
  std::vector<double> d;
  int lower = 0, equal = 0, higher = 0;
  for (size_t s = 0; s < runs.size() && s < base.size(); ++s) {
    if (!runs[s].answered || !base[s].answered) continue;
    const double x = runs[s].regret - base[s].regret;
    d.push_back(x);
    (x < -1e-9 ? lower : x > 1e-9 ? higher : equal) += 1;
  }
  if (d.empty()) return "n/a";
  char text[96];
  std::snprintf(text, sizeof text, "%+.3f +- %.3f (%d/%d/%d)", mean(d),
                stddev(d) / std::sqrt(static_cast<double>(d.size())), lower, equal, higher);
  return text;
}

int run_anytime(Options& options, const TableView& view) {
  // Single-fidelity strategies are controllers; each becomes an experiment fragment.
  std::vector<Strategy> strategies;
  for (const auto& s : options.strategies)
    strategies.push_back({s.name, {{"controller", s.config}}});
  for (const auto& s : options.multi_fidelity) {
    if (!s.config.is_object() || !s.config.contains("fidelity")) {
      throw ConfigError("--multi-fidelity " + s.name +
                        ": expected an object with \"fidelity\" (and \"controller\"); a "
                        "single-fidelity strategy is a --strategy");
    }
    strategies.push_back(s);
  }
  // A bad fragment is an error here (exit 2), not in a worker thread.
  for (const auto& s : strategies) {
    bench::nb201_experiment(s.name, s.config, 1, options.checkpoints.back(), options.table, s.name);
  }
  // The baseline runs first, so that each strategy's comparison prints as it finishes.
  const auto base_it = std::find_if(strategies.begin(), strategies.end(),
                                    [&](const Strategy& s) { return s.name == options.baseline; });
  const bool has_base = base_it != strategies.end();
  if (has_base) std::rotate(strategies.begin(), base_it, base_it + 1);
  log::set_level(log::Level::kWarn);

  std::printf(
      "NAS-Bench-201 anytime: %d seeds per strategy; table optimum cifar10_valid %.3f.\n"
      "Simulated cost: a fixed 1 unit per epoch trained (the table holds no training times), so "
      "a 200-epoch query costs 200 units and a 12-epoch query 12;\n"
      "checkpoints are in full trainings (200 units each). Regret: optimum - best 200-epoch "
      "cifar10_valid found within the checkpoint (12-epoch results do not count).\n"
      "vs %s: mean per-seed difference of regret (negative: lower) +- standard error "
      "(seeds lower/equal/higher).\n",
      options.seeds, view.optimum, options.baseline.c_str());
  std::printf("%-16s %5s %8s %7s %9s %9s %10s %10s %7s %8s  %s\n", "strategy", "ckpt", "regret",
              "std", "best_mean", "found_opt", "c100_test", "img16_test", "full", "trials",
              ("vs " + options.baseline).c_str());
  std::vector<std::vector<AnytimePoint>> base;  // [checkpoint][seed]
  for (const auto& strategy : strategies) {
    const auto started = Clock::now();
    std::vector<std::vector<AnytimePoint>> runs(static_cast<size_t>(options.seeds));
    bench::for_each_seed(options.seeds, options.jobs, [&](int s) {
      runs[static_cast<size_t>(s)] =
          run_anytime_one(strategy, static_cast<std::uint64_t>(s + 1), options, view);
    });
    std::vector<std::vector<AnytimePoint>> by_checkpoint(options.checkpoints.size());
    for (const auto& r : runs) {
      for (size_t c = 0; c < r.size(); ++c) by_checkpoint[c].push_back(r[c]);
    }
    if (has_base && strategy.name == options.baseline) base = by_checkpoint;
    for (size_t c = 0; c < options.checkpoints.size(); ++c) {
      const auto& points = by_checkpoint[c];
      std::vector<double> regret, c100, img16, full, trials;
      int found = 0;
      for (const auto& p : points) {
        full.push_back(p.full_trials);
        trials.push_back(p.trials);
        if (!p.answered) continue;
        regret.push_back(p.regret);
        c100.push_back(p.cifar100_test);
        img16.push_back(p.imagenet16_test);
        found += p.regret <= 1e-9 ? 1 : 0;
      }
      const std::string versus =
          !has_base || strategy.name == options.baseline ? "" : paired_difference(points, base[c]);
      char stats[160];
      if (regret.size() == points.size()) {
        std::snprintf(stats, sizeof stats, "%8.3f %7.3f %9.3f %8.0f%% %10.2f %10.2f", mean(regret),
                      stddev(regret), view.optimum - mean(regret), 100.0 * found / options.seeds,
                      mean(c100), mean(img16));
      } else {
        // Not every seed has a 200-epoch result yet: no mean over the others.
        std::snprintf(stats, sizeof stats, "%-58s",
                      ("n/a: " + std::to_string(points.size() - regret.size()) +
                       " seeds without a 200-epoch result")
                          .c_str());
      }
      std::printf("%-16s %5d %s %7.1f %8.1f  %s\n", strategy.name.c_str(), options.checkpoints[c],
                  stats, mean(full), mean(trials), versus.c_str());
    }
    std::fflush(stdout);
    std::fprintf(stderr, "%s: %.1f s\n", strategy.name.c_str(),
                 std::chrono::duration<double>(Clock::now() - started).count());
  }
  if (!has_base) {
    std::printf("(no strategy is named %s, the --baseline: no paired differences)\n",
                options.baseline.c_str());
  }
  return 0;
}

int run(Options& options) {
  options.jobs = std::max(1, options.jobs);
  if (options.strategies.empty()) {
    options.strategies = {{"random", {{"type", "random"}}},
                          {"evolution", {{"type", "evolution"}}},
                          {"reinforce", {{"type", "reinforce"}}},
                          {"local_search", {{"type", "local_search"}}},
                          {"predictor", {{"type", "predictor"}}}};
  }
  // A bad controller config is an error here, not in a worker thread.
  for (const auto& strategy : options.strategies) {
    controllers::make_controller(strategy.config, space::Nb201Space(), 1,
                                 "--strategy " + strategy.name);
  }
  at::set_num_threads(1);  // the policy is tiny; seeds run in parallel with --jobs instead
  const auto view = read_table(options.table);
  if (!options.anytime) return run_queries(options, view);
  if (options.multi_fidelity.empty()) options.multi_fidelity = default_multi_fidelity();
  if (options.tmp.empty()) options.tmp = bench::default_tmp_dir();
  return run_anytime(options, view);
}

}  // namespace

int main(int argc, char** argv) {
  return nasforge::bench::run_main<Options>(argc, argv, "nb201_bench", kAbout, add_flags, run);
}
