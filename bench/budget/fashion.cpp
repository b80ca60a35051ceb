// Fixed hyperparameters and full training vs adaptive hyperparameters (PBT) with successive
// halving, at an equal wall-clock budget of evaluation time, on Fashion-MNIST. Each run is the
// real SearchLoop on a SQLite store; the architecture finally chosen (store.best_trial: the best
// at the highest fidelity) is judged by its validation accuracy after full training, and by its
// test accuracy (the test set is touched only here, after the search).
//
//   budget_fashion_bench [--seeds N] [--seconds S] [--subset N] [--tmp DIR]
#include <ATen/Parallel.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

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
  double seconds = 120;
  int subset = 10000;
  std::string tmp = fs::temp_directory_path().string();
};

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
           {{"epochs", 3}, {"batch_size", 128}, {"learning_rate", 0.1}, {"device", "cpu"}}}};
}

struct Outcome {
  double val = 0;   // the chosen architecture's validation accuracy (full training)
  double test = 0;  // and its test accuracy
  int trials = 0;
  int full = 0;
};

Outcome run_one(const json& config, const Options& o, const std::string& tag) {
  const auto experiment = search::Experiment::from_json(config, tag);
  const auto db =
      (fs::path(o.tmp) / ("nasforge-fashion-" + std::to_string(::getpid()) + "-" + tag + ".db"))
          .string();
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(db + suffix);
  Outcome out;
  {
    auto store = store::SqliteStore::create(db);
    const auto id = store.create_experiment(experiment.name, experiment.to_json());
    auto parts = search::prepare(experiment);
    search::SearchLoop loop(store, id, experiment, parts, db + ".artifacts");
    loop.run();
    const auto trials = store.trials(id);
    out.trials = static_cast<int>(trials.size());
    for (const auto& t : trials) out.full += t.outcome.epochs == experiment.training.epochs;
    const auto best = store.best_trial(id);
    if (!best) throw InternalError(tag + ": no trial completed");
    out.val = best->outcome.val_accuracy;
    auto* evaluator = dynamic_cast<trainer::TorchEvaluator*>(parts.evaluator.get());
    const auto& data = evaluator->data();
    auto network = space::build_network(*parts.space, parts.space->from_json(best->arch),
                                        data.shape, data.num_classes);
    trainer::load_weights(*network, best->outcome.weights_path);
    out.test = trainer::evaluate_network(*network, data.test, {data.mean, data.std},
                                         c10::Device(c10::kCPU), 1000)
                   .accuracy;
  }
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(db + suffix);
  fs::remove_all(db + ".artifacts");
  return out;
}

using bench::mean;

int run(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw ConfigError(arg + ": missing value");
      return argv[++i];
    };
    if (arg == "--seeds") {
      o.seeds = std::stoi(value());
    } else if (arg == "--seconds") {
      o.seconds = std::stod(value());
    } else if (arg == "--subset") {
      o.subset = std::stoi(value());
    } else if (arg == "--tmp") {
      o.tmp = value();
    } else {
      std::cout << "budget_fashion_bench [--seeds N] [--seconds S] [--subset N] [--tmp DIR]\n";
      return arg == "--help" ? 0 : 2;
    }
  }
  log::set_level(log::Level::kWarn);
  // Adaptive: PBT over learning rate and weight decay, successive halving 1 -> 3 epochs (eta 3).
  const json adaptive = {
      {"adaptive",
       {{"strategy", "pbt"},
        {"hparams",
         {{"learning_rate", {{"min", 0.02}, {"max", 0.4}, {"log", true}}},
          {"weight_decay", {{"min", 1e-5}, {"max", 2e-3}, {"log", true}}}}},
        {"warmup_trials", 4}}},
      {"fidelity",
       {{"type", "successive_halving"}, {"rungs", {1, 3}}, {"eta", 3}, {"bracket_size", 9}}}};
  std::vector<double> fixed_val, fixed_test, adaptive_val, adaptive_test;
  std::printf("Fashion-MNIST (%d training images), %.0f s of evaluation per run, %d seeds\n",
              o.subset, o.seconds, o.seeds);
  std::printf("%-10s %4s %8s %8s %7s %6s\n", "variant", "seed", "val", "test", "trials", "full");
  for (int seed = 1; seed <= o.seeds; ++seed) {
    auto config = base_experiment(o, static_cast<std::uint64_t>(seed));
    const auto f = run_one(config, o, "fixed-" + std::to_string(seed));
    std::printf("%-10s %4d %8.4f %8.4f %7d %6d\n", "fixed", seed, f.val, f.test, f.trials, f.full);
    config.update(adaptive);
    const auto a = run_one(config, o, "adaptive-" + std::to_string(seed));
    std::printf("%-10s %4d %8.4f %8.4f %7d %6d\n", "adaptive", seed, a.val, a.test, a.trials,
                a.full);
    std::fflush(stdout);
    fixed_val.push_back(f.val);
    fixed_test.push_back(f.test);
    adaptive_val.push_back(a.val);
    adaptive_test.push_back(a.test);
  }
  std::printf("mean fixed:    val %.4f  test %.4f\n", mean(fixed_val), mean(fixed_test));
  std::printf("mean adaptive: val %.4f  test %.4f  (difference val %+.4f, test %+.4f)\n",
              mean(adaptive_val), mean(adaptive_test), mean(adaptive_val) - mean(fixed_val),
              mean(adaptive_test) - mean(fixed_test));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "budget_fashion_bench: " << e.what() << "\n";
    return 1;
  }
}
