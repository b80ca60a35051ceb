#include "search/experiment.h"

#include <filesystem>
#include <fstream>

#include "common/errors.h"
#include "common/json_config.h"
#include "controllers/controller.h"
#include "space/block_space.h"
#include "space/search_space.h"
#include "trainer/nb201_table.h"

namespace nasforge::search {

namespace cfg = nasforge::config;
namespace fs = std::filesystem;

namespace {

// What a pipeline of stages can train, checked before anything runs.
void check_pipeline(const Experiment& e, const std::string& space_type, const std::string& where) {
  if (!e.trains()) {
    throw ConfigError(where + ": pipeline stages need the \"train\" evaluator, not " +
                      e.evaluator.value("type", "?"));
  }
  if (space_type != space::BlockSpace::kType) {
    throw ConfigError(where +
                      ": only networks of the \"blocks\" space can be cut into stages, not \"" +
                      space_type + "\"");
  }
  if (e.training.precision != trainer::Precision::kFp32) {
    throw ConfigError(where + ": pipeline stages train in fp32 only; training.precision is " +
                      trainer::to_string(e.training.precision));
  }
  if (e.parallel.pipeline->micro_batches > e.training.batch_size) {
    throw ConfigError(where +
                      ".micro_batches: " + std::to_string(e.parallel.pipeline->micro_batches) +
                      " micro-batches for a batch of " + std::to_string(e.training.batch_size) +
                      "; use at most training.batch_size");
  }
}

}  // namespace

Experiment Experiment::from_json(const nlohmann::json& j, const std::string& where) {
  cfg::require_object(j, where);
  cfg::reject_unknown_keys(
      j, where,
      {"name", "seed", "budget", "space", "controller", "evaluator", "dataset", "training",
       "adaptive", "early_stopping", "fidelity", "parallel", "objective"});
  Experiment e;
  e.name = cfg::required<std::string>(j, "name", where);
  e.seed = cfg::optional<std::uint64_t>(j, "seed", where, 0);
  if (!j.contains("budget")) throw ConfigError(where + ": missing required key \"budget\"");
  const auto& budget = j.at("budget");
  cfg::require_object(budget, where + ".budget");
  cfg::reject_unknown_keys(budget, where + ".budget", {"trials", "cost", "seconds"});
  if (!budget.contains("trials") && !budget.contains("cost") && !budget.contains("seconds")) {
    throw ConfigError(where + ".budget: expected \"trials\", \"cost\", \"seconds\" or several");
  }
  if (budget.contains("seconds")) {
    e.budget.seconds = cfg::get_as<double>(budget.at("seconds"), where + ".budget.seconds");
    if (!(e.budget.seconds > 0)) {
      throw ConfigError(where + ".budget.seconds: expected a positive number of seconds");
    }
  }
  e.budget.trials =
      cfg::in_range(cfg::optional<int>(budget, "trials", where + ".budget", kNoTrialLimit), 1,
                    kNoTrialLimit, where + ".budget.trials");
  if (budget.contains("cost")) {
    e.budget.cost = cfg::get_as<double>(budget.at("cost"), where + ".budget.cost");
    if (!(e.budget.cost > 0)) {
      throw ConfigError(where +
                        ".budget.cost: expected a positive number of full-training "
                        "equivalents");
    }
  }
  if (!j.contains("space")) throw ConfigError(where + ": missing required key \"space\"");
  e.space = j.at("space");
  e.controller = j.value("controller", nlohmann::json{{"type", "random"}});
  e.evaluator = j.value("evaluator", nlohmann::json{{"type", "train"}});
  cfg::require_object(e.evaluator, where + ".evaluator");
  const auto evaluator_type = cfg::required<std::string>(e.evaluator, "type", where + ".evaluator");
  if (evaluator_type == "train") {
    cfg::reject_unknown_keys(e.evaluator, where + ".evaluator", {"type"});
    e.dataset = trainer::DatasetSpec::from_json(j.value("dataset", nlohmann::json::object()),
                                                where + ".dataset");
    e.training = trainer::TrainConfig::from_json(j.value("training", nlohmann::json::object()),
                                                 where + ".training");
  } else if (evaluator_type == "nb201-table") {
    cfg::reject_unknown_keys(e.evaluator, where + ".evaluator", {"type", "path", "column"});
    cfg::required<std::string>(e.evaluator, "path", where + ".evaluator");
  } else {
    throw ConfigError(where + ".evaluator.type: unknown evaluator '" + evaluator_type +
                      "'; expected train or nb201-table");
  }
  if (j.contains("adaptive")) {
    e.adaptive = PbtOptions::from_json(j.at("adaptive"), where + ".adaptive");
  }
  if (j.contains("early_stopping")) {
    e.early_stopping =
        EarlyStoppingOptions::from_json(j.at("early_stopping"), where + ".early_stopping");
  }
  if (j.contains("parallel")) {
    e.parallel = ParallelOptions::from_json(j.at("parallel"), where + ".parallel");
  }
  if (j.contains("objective")) {
    e.objective = Objective::from_json(j.at("objective"), where + ".objective");
    if (e.objective->cost == Objective::kLatencyMetric && evaluator_type != "train") {
      throw ConfigError(where +
                        ".objective.cost: latency_ms is measured on a trained network; the " +
                        evaluator_type + " evaluator has none (use params or flops)");
    }
  }
  if (j.contains("fidelity")) {
    e.fidelity = FidelityOptions::from_json(j.at("fidelity"), where + ".fidelity");
    if (evaluator_type == trainer::Nb201TableEvaluator::kType) {
      trainer::Nb201TableEvaluator::check_fidelities(e.fidelity->rungs, where + ".fidelity.rungs");
    }
  }
  if (e.fidelity && e.fidelity->continue_training && evaluator_type == "nb201-table") {
    throw ConfigError(where +
                      ".fidelity.continue: a table lookup has no weights to continue from; "
                      "use it with the \"train\" evaluator");
  }
  if (e.fidelity && e.fidelity->extend_best && e.budget.seconds <= 0) {
    throw ConfigError(where +
                      ".fidelity.extend_best: needs a time budget (\"budget\": {\"seconds\": "
                      "...}) to size the extension by");
  }
  if (e.fidelity && e.parallel.workers > 1) {
    throw ConfigError(where +
                      ".parallel.workers: trials side by side are not supported with a "
                      "\"fidelity\" schedule yet (its promotions wait on whole rungs); use 1");
  }
  // Validate space and controller now, so a bad file fails before anything is created.
  const auto space = space::make_search_space(e.space, where + ".space");
  if (e.parallel.pipeline) check_pipeline(e, space->type(), where + ".parallel.pipeline");
  controllers::make_controller(e.controller, *space, e.seed, where + ".controller");
  return e;
}

nlohmann::json Experiment::to_json() const {
  nlohmann::json j = {{"name", name},
                      {"seed", seed},
                      {"budget", {{"trials", budget.trials}}},
                      {"space", space},
                      {"controller", controller},
                      {"evaluator", evaluator}};
  if (budget.cost > 0) j["budget"]["cost"] = budget.cost;
  if (budget.seconds > 0) j["budget"]["seconds"] = budget.seconds;
  if (adaptive) j["adaptive"] = adaptive->to_json();
  if (early_stopping) j["early_stopping"] = early_stopping->to_json();
  if (fidelity) j["fidelity"] = fidelity->to_json();
  if (objective) j["objective"] = objective->to_json();
  if (!parallel.is_default()) j["parallel"] = parallel.to_json();
  if (trains()) {
    j["dataset"] = dataset.to_json();
    j["training"] = training.to_json();
  }
  return j;
}

int Experiment::max_epochs() const {
  if (fidelity) return fidelity->max_epochs();
  return trains() ? training.epochs : trainer::Nb201TableEvaluator::kFullEpochs;
}

int Experiment::default_epochs() const {
  if (trains()) return training.epochs;
  return trainer::Nb201TableEvaluator::epochs_of_column(
      evaluator.value("column", std::string("cifar10_valid")));
}

namespace {

// A relative path means the same file wherever nasforge is started from: it is read against the
// experiment file's folder (never the working directory), so a missing one is reported there.
std::string resolve(const std::string& path, const fs::path& file_dir) {
  if (path.empty() || fs::path(path).is_absolute()) return path;
  return (file_dir / path).lexically_normal().string();
}

}  // namespace

Experiment load_experiment_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ": cannot read experiment file");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in, nullptr, true, /*ignore_comments=*/true);
  } catch (const nlohmann::json::parse_error& e) {
    std::string message = e.what();
    throw ConfigError(path + ": malformed JSON (" + message.substr(message.find(']') + 2) + ")");
  }
  auto experiment = Experiment::from_json(j, path);
  const auto dir = fs::absolute(path).parent_path();
  if (experiment.trains()) {
    experiment.dataset.path = resolve(experiment.dataset.path, dir);
    experiment.dataset.cache_dir = resolve(experiment.dataset.cache_dir, dir);
  } else {
    experiment.evaluator["path"] = resolve(experiment.evaluator.at("path").get<std::string>(), dir);
  }
  return experiment;
}

}  // namespace nasforge::search
