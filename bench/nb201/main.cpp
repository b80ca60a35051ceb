// Measures search strategies on the NAS-Bench-201 table (Dong & Yang, ICLR 2020) with the
// literature's protocol: search on cifar10_valid, report the chosen cell's (best cifar10_valid
// seen) test accuracy on CIFAR-100 and ImageNet16-120. Every proposal costs one query, a repeat
// included; all controllers but random avoid repeats themselves. Per strategy and budget: the
// mean and spread of the best cifar10_valid, its regret to the table's optimum, the share of runs
// that found the optimum, and the chosen cells' transfer; then each controller's overhead.
//
//   nb201_bench [--seeds N] [--budgets 50,100,150,300] [--jobs J] [--table PATH]
//               [--strategy NAME=CONTROLLER_JSON]...
#include <ATen/Parallel.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/common/bench_cli.h"
#include "bench/common/bench_util.h"
#include "common/errors.h"
#include "controllers/controller.h"
#include "space/nb201_space.h"
#include "trainer/nb201_table.h"

namespace {

using namespace nasforge;
using Clock = std::chrono::steady_clock;

struct Strategy {
  std::string name;
  nlohmann::json config;
};

struct Options {
  int seeds = 100;
  int jobs = 1;
  std::vector<int> budgets = {50, 100, 150, 300};
  std::string table = NASFORGE_NB201_TABLE;
  std::vector<Strategy> strategies;
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
  auto table = std::make_shared<const trainer::Nb201Table>(options.table);
  trainer::Nb201TableEvaluator evaluator(table, "cifar10_valid");
  const int valid_column = table->column("cifar10_valid");
  const int c100_column = table->column("cifar100_test");
  const int img16_column = table->column("imagenet16_test");
  if (c100_column < 0 || img16_column < 0) {
    throw DataError(options.table + ": needs cifar100_test and imagenet16_test columns");
  }
  double optimum = 0;
  for (size_t r = 0; r < table->size(); ++r)
    optimum = std::max(optimum, table->value(r, valid_column));

  std::printf("NAS-Bench-201 cifar10_valid, optimum %.3f, %d seeds per strategy\n", optimum,
              options.seeds);
  std::printf("%-12s %6s %10s %7s %8s %9s %10s %10s\n", "strategy", "budget", "best_mean", "std",
              "regret", "found_opt", "c100_test", "img16_test");
  std::vector<std::string> timing_lines;
  for (const auto& strategy : options.strategies) {
    std::vector<RunResult> runs(static_cast<size_t>(options.seeds));
    std::vector<std::thread> workers;
    for (int j = 0; j < options.jobs; ++j) {
      workers.emplace_back([&, j] {
        for (int s = j; s < options.seeds; s += options.jobs) {
          runs[static_cast<size_t>(s)] =
              run_one(strategy, static_cast<std::uint64_t>(s + 1), options.budgets, evaluator,
                      c100_column, img16_column);
        }
      });
    }
    for (auto& w : workers) w.join();
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
                  options.budgets[b], mean(best), stddev(best), optimum - mean(best),
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

}  // namespace

int main(int argc, char** argv) {
  return nasforge::bench::run_main<Options>(argc, argv, "nb201_bench", kAbout, add_flags, run);
}
