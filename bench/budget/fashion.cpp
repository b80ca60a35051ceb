// Fixed hyperparameters and full training (the quickstart's 3 epochs, and the adaptive
// variant's longest rung) vs adaptive hyperparameters (PBT) with successive halving, at an equal
// wall-clock budget, on Fashion-MNIST. Each run is the real SearchLoop on a
// SQLite store, with `budget.seconds` as a hard limit (a trial still running when it is spent
// stops at the end of that epoch). The network finally chosen (store.best_trial: the best at the
// highest fidelity reached) is judged by its validation accuracy and by its accuracy on the
// 10,000 test images, which the search never sees.
//
// With --retrain-epochs N, each variant's chosen architecture is then trained again from scratch
// under one protocol (N epochs, the fixed hyperparameters, the same seed for every variant), side
// by side: its test accuracy then measures the architecture found, apart from how the search
// happened to train it.
//
// The variants of a seed run side by side, each on one thread, so that they see the same machine
// load (the machines are noisy); --sequential runs them one after the other instead, each with
// every core.
//
//   budget_fashion_bench [--seeds N] [--seconds S] [--subset N] [--full-epochs E]
//                        [--fixed-epochs 3,9] [--bracket N] [--retrain-epochs N] [--sequential]
//                        [--tmp DIR]
#include <ATen/Parallel.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "bench/common/bench_cli.h"
#include "bench/common/bench_util.h"
#include "common/errors.h"
#include "common/log.h"
#include "search/experiment.h"
#include "search/search_loop.h"
#include "store/sqlite_store.h"
#include "trainer/torch_evaluator.h"
#include "trainer/training_loop.h"

namespace {

using namespace nasforge;
namespace fs = std::filesystem;
using nlohmann::json;

struct Options {
  int seeds = 3;
  double seconds = 900;
  int subset = 10000;
  int full_epochs = 9;     // full training; the adaptive variant's rungs are E/eta^k, k = 0, 1, ...
  int bracket = 0;         // candidates per successive-halving bracket; 0: eta^(rungs - 1)
  int retrain_epochs = 0;  // 0: no retraining of the chosen architectures
  std::vector<int> fixed_epochs = {3, 9};  // one fixed variant per entry
  bool sequential = false;
  std::string tmp = fs::temp_directory_path().string();
};

constexpr int kEta = 3;

constexpr const char* kAbout =
    "Fixed hyperparameters vs PBT with successive halving at equal wall-clock time on "
    "Fashion-MNIST";

void add_flags(CLI::App& app, Options& o) {
  bench::add_positive(app, "--seeds", o.seeds, "seeds; each runs every variant");
  bench::add_positive(app, "--seconds", o.seconds, "evaluation seconds per run (budget.seconds)");
  bench::add_positive(app, "--subset", o.subset, "training images used");
  app.add_option("--full-epochs", o.full_epochs,
                 "full training; the adaptive variant's rungs are E/3^k")
      ->capture_default_str();
  bench::add_int_list(app, "--fixed-epochs", o.fixed_epochs,
                      "one fixed-hyperparameter variant per entry", bench::Order::kSorted);
  app.add_option("--bracket", o.bracket,
                 "candidates per successive-halving bracket (0: 3^(rungs - 1))")
      ->capture_default_str();
  app.add_option("--retrain-epochs", o.retrain_epochs,
                 "retrain each chosen architecture this long under one protocol (0: no)")
      ->capture_default_str();
  app.add_flag("--sequential", o.sequential, "variants one after the other, each with every core");
  app.add_option("--tmp", o.tmp, "folder of the runs' SQLite stores")->capture_default_str();
}

json base_experiment(const Options& o, std::uint64_t seed) {
  return {{"name", "fashion-budget"},
          {"seed", seed},
          {"budget", {{"seconds", o.seconds}}},
          {"space",
           {{"type", "blocks"},
            {"stem_width", 16},
            {"stages", json::array({{{"block", {"basic", "bottleneck", "dense"}},
                                     {"depth", {1, 2}},
                                     {"width", {16, 24}},
                                     {"growth_rate", {8, 12}},
                                     {"kernel", {3, 5}}},
                                    {{"block", {"basic", "bottleneck", "dense"}},
                                     {"depth", {1, 2}},
                                     {"width", {32, 48}},
                                     {"growth_rate", {12, 16}},
                                     {"kernel", {3, 5}}},
                                    {{"block", {"basic", "bottleneck", "dense"}},
                                     {"depth", {1, 2}},
                                     {"width", {64, 96}},
                                     {"growth_rate", {16, 24}},
                                     {"kernel", {3}}}})}}},
          {"controller", {{"type", "random"}}},
          {"dataset",
           {{"name", "fashion-mnist"},
            {"path", "/usr/share/datasets/fashion-mnist"},
            {"validation_fraction", 0.1},
            {"train_subset", o.subset}}},
          {"training",
           {{"epochs", o.full_epochs},
            {"batch_size", 128},
            {"learning_rate", 0.1},
            {"weight_decay", 5e-4},
            {"device", "cpu"},
            {"threads", o.sequential ? 0 : 1}}}};
}

// Rungs E/eta^k down to one epoch, ascending: 9 -> {1, 3, 9}.
std::vector<int> rungs_for(int full_epochs) {
  std::vector<int> rungs;
  for (int e = full_epochs; e >= 1; e /= kEta) rungs.insert(rungs.begin(), e);
  return rungs;
}

// Adaptive: PBT over learning rate and weight decay around the fixed values (from trials at the
// first rung), successive halving up to full training, promoted trials continuing from their
// parent's weights (a warm restart), and the time a bracket cannot use spent training the best
// network further (extend_best).
json adaptive_keys(const Options& o) {
  const auto rungs = rungs_for(o.full_epochs);
  int bracket = 1;
  for (size_t i = 1; i < rungs.size(); ++i) bracket *= kEta;
  if (o.bracket > 0) bracket = o.bracket;
  return {{"adaptive",
           {{"strategy", "pbt"},
            {"hparams",
             {{"learning_rate", {{"min", 0.05}, {"max", 0.2}, {"log", true}}},
              {"weight_decay", {{"min", 1e-4}, {"max", 1e-3}, {"log", true}}}}},
            {"warmup_trials", 4}}},
          {"fidelity",
           {{"type", "successive_halving"},
            {"rungs", rungs},
            {"eta", kEta},
            {"bracket_size", bracket},
            {"continue", true},
            {"extend_best", true}}}};
}

struct Outcome {
  double val = 0;             // the chosen network's validation accuracy
  double test = 0;            // and its test accuracy
  double retrained_test = 0;  // its architecture's test accuracy under the common protocol
  json arch;
  int best_epochs = 0;
  int trials = 0;
  int full = 0;  // trials trained to the full epochs
  double seconds = 0;
  std::string error;
};

std::string db_path(const Options& o, const std::string& tag) {
  return (fs::path(o.tmp) / ("nasforge-fashion-" + std::to_string(::getpid()) + "-" + tag + ".db"))
      .string();
}

void remove_db(const std::string& db) {
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(db + suffix);
  fs::remove_all(db + ".artifacts");
}

// Test accuracy of `arch` with the weights saved at `weights_path`.
double test_accuracy(search::PreparedExperiment& prepared, const json& arch,
                     const std::string& weights_path) {
  auto* evaluator = dynamic_cast<trainer::TorchEvaluator*>(prepared.evaluator.get());
  const auto& data = evaluator->data();
  auto network = space::build_network(*prepared.space, prepared.space->from_json(arch), data.shape,
                                      data.num_classes);
  trainer::load_weights(*network, weights_path);
  return trainer::evaluate_network(*network, data.test, {data.mean, data.std},
                                   c10::Device(c10::kCPU), 1000)
      .accuracy;
}

Outcome run_one(const json& config, const Options& o, const std::string& tag) {
  const auto experiment = search::Experiment::from_json(config, tag);
  const auto db = db_path(o, tag);
  remove_db(db);
  Outcome out;
  {
    auto store = store::SqliteStore::create(db);
    const auto id = store.create_experiment(experiment.name, experiment.to_json());
    auto prepared = search::prepare(experiment);
    search::SearchLoop loop(store, id, experiment, prepared, db + ".artifacts");
    loop.run();
    const auto trials = store.trials(id);
    out.trials = static_cast<int>(trials.size());
    for (const auto& t : trials) {
      out.full +=
          t.state == TrialState::kCompleted && t.result.epochs >= experiment.training.epochs;
      out.seconds += t.result.wall_seconds;
    }
    const auto best = store.best_trial(id);
    if (!best) throw InternalError(tag + ": no trial completed");
    out.val = best->result.val_accuracy;
    out.best_epochs = best->result.epochs;
    out.arch = best->arch;
    out.test = test_accuracy(prepared, best->arch, best->result.weights_path);
  }
  remove_db(db);
  return out;
}

// Trains `arch` from scratch under `config`'s fixed protocol for `epochs`; its test accuracy.
double retrain(json config, const json& arch, int epochs, std::uint64_t seed, const Options& o,
               const std::string& tag) {
  config["training"]["epochs"] = epochs;
  config["budget"] = {{"trials", 1}};
  const auto experiment = search::Experiment::from_json(config, tag);
  auto prepared = search::prepare(experiment);
  const auto weights = db_path(o, tag) + ".pt";
  trainer::TrialContext context;
  context.seed = seed;
  context.weights_path = weights;
  const auto result = prepared.evaluator->evaluate(prepared.space->from_json(arch), context);
  if (result.state != TrialState::kCompleted) {
    throw TrainingError(tag + ": retraining did not complete: " + result.error);
  }
  const double accuracy = test_accuracy(prepared, arch, weights);
  fs::remove(weights);
  return accuracy;
}

struct Variant {
  std::string name;
  json config;
};

// fixed-E for each --fixed-epochs E (fixed hyperparameters, every trial trained E epochs), and
// adaptive (PBT + successive halving up to --full-epochs, continuing promoted trials).
std::vector<Variant> variants_for(const Options& o, int seed) {
  std::vector<Variant> out;
  const auto base = base_experiment(o, static_cast<std::uint64_t>(seed));
  for (int epochs : o.fixed_epochs) {
    auto config = base;
    config["training"]["epochs"] = epochs;
    out.push_back({"fixed-" + std::to_string(epochs), config});
  }
  auto adaptive = base;
  adaptive.update(adaptive_keys(o));
  out.push_back({"adaptive", adaptive});
  return out;
}

// Runs job(i) for every variant, side by side on one thread each, or one after the other; a
// job's exception is kept in its outcome's error.
template <typename Job>
void for_each_variant(const Options& o, std::vector<Outcome>& outcomes, const Job& job) {
  auto guarded = [&](size_t i) {
    try {
      job(i);
    } catch (const std::exception& e) {
      outcomes[i].error = e.what();
    }
  };
  if (o.sequential) {
    for (size_t i = 0; i < outcomes.size(); ++i) guarded(i);
  } else {
    std::vector<std::thread> threads;
    for (size_t i = 0; i < outcomes.size(); ++i) threads.emplace_back(guarded, i);
    for (auto& t : threads) t.join();
  }
}

// Runs every variant of a seed, then retrains what each chose (with --retrain-epochs).
std::vector<Outcome> run_seed(const Options& o, const std::vector<Variant>& variants, int seed) {
  std::vector<Outcome> outcomes(variants.size());
  auto tag = [&](size_t i) { return variants[i].name + "-" + std::to_string(seed); };
  for_each_variant(o, outcomes,
                   [&](size_t i) { outcomes[i] = run_one(variants[i].config, o, tag(i)); });
  if (o.retrain_epochs > 0) {
    for_each_variant(o, outcomes, [&](size_t i) {
      if (!outcomes[i].error.empty()) return;
      outcomes[i].retrained_test = retrain(
          base_experiment(o, static_cast<std::uint64_t>(seed)), outcomes[i].arch, o.retrain_epochs,
          static_cast<std::uint64_t>(seed) * 7919, o, tag(i) + "-retrain");
    });
  }
  for (size_t i = 0; i < variants.size(); ++i) {
    if (!outcomes[i].error.empty()) {
      throw InternalError(variants[i].name + ", seed " + std::to_string(seed) + ": " +
                          outcomes[i].error);
    }
  }
  return outcomes;
}

using bench::mean;
using bench::stddev;

int run(Options& o) {
  if (o.full_epochs < kEta) throw ConfigError("--full-epochs: at least " + std::to_string(kEta));
  log::set_level(log::Level::kWarn);
  std::printf(
      "Fashion-MNIST (%d training images), %.0f s of evaluation per run, %d seeds, %s\n", o.subset,
      o.seconds, o.seeds,
      o.sequential ? "variants one after the other" : "variants side by side, one thread each");
  std::printf("adaptive: %s\n", adaptive_keys(o).dump().c_str());
  std::printf("%-9s %4s %8s %8s %6s %7s %5s %8s %9s  %s\n", "variant", "seed", "val", "test",
              "epochs", "trials", "full", "eval_s", "retrained", "architecture");
  std::vector<std::string> names;
  std::vector<std::vector<double>> val, test, retrained;
  for (int seed = 1; seed <= o.seeds; ++seed) {
    const auto variants = variants_for(o, seed);
    const auto outcomes = run_seed(o, variants, seed);
    names.clear();
    val.resize(variants.size());
    test.resize(variants.size());
    retrained.resize(variants.size());
    for (size_t i = 0; i < variants.size(); ++i) {
      const auto& r = outcomes[i];
      names.push_back(variants[i].name);
      std::printf("%-9s %4d %8.4f %8.4f %6d %7d %5d %8.0f %9.4f  %s\n", variants[i].name.c_str(),
                  seed, r.val, r.test, r.best_epochs, r.trials, r.full, r.seconds, r.retrained_test,
                  r.arch.dump().c_str());
      val[i].push_back(r.val);
      test[i].push_back(r.test);
      retrained[i].push_back(r.retrained_test);
    }
    std::fflush(stdout);
  }
  const size_t adaptive = names.size() - 1;
  for (size_t i = 0; i < names.size(); ++i) {
    std::printf("mean %-9s val %.4f  test %.4f  retrained test %.4f\n", names[i].c_str(),
                mean(val[i]), mean(test[i]), mean(retrained[i]));
  }
  const double n = static_cast<double>(o.seeds);
  for (size_t i = 0; i < adaptive; ++i) {
    std::vector<double> dv, dt, dr;
    for (size_t s = 0; s < val[i].size(); ++s) {
      dv.push_back(val[adaptive][s] - val[i][s]);
      dt.push_back(test[adaptive][s] - test[i][s]);
      dr.push_back(retrained[adaptive][s] - retrained[i][s]);
    }
    std::printf("adaptive - %-9s (paired by seed): val %+.4f +- %.4f, test %+.4f +- %.4f (s.e.)\n",
                names[i].c_str(), mean(dv), stddev(dv) / std::sqrt(n), mean(dt),
                stddev(dt) / std::sqrt(n));
    if (o.retrain_epochs > 0) {
      std::printf("  architectures retrained %d epochs: test %+.4f +- %.4f\n", o.retrain_epochs,
                  mean(dr), stddev(dr) / std::sqrt(n));
    }
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return nasforge::bench::run_main<Options>(argc, argv, "budget_fashion_bench", kAbout, add_flags,
                                            run);
}
