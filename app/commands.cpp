#include "app/commands.h"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <optional>
#include <ostream>

#include "app/cost_output.h"
#include "app/report.h"
#include "common/errors.h"
#include "common/log.h"
#include "export/portable_model.h"
#include "search/distributed_trials.h"
#include "search/experiment.h"
#include "search/progress_line.h"
#include "search/search_loop.h"
#include "space/modules/block_network.h"
#include "space/modules/network.h"
#include "store/sqlite_store.h"
#include "store/writer_lease.h"
#include "trainer/distributed/data_parallel.h"
#include "trainer/distributed/process_group.h"
#include "trainer/torch_evaluator.h"
#include "trainer/training_loop.h"

namespace nasforge::search {

namespace fs = std::filesystem;

namespace {

constexpr const char* kModelFormat = "nasforge-model";
constexpr int kModelFormatVersion = 1;

std::string artifacts_dir(const std::string& db_path) {
  return fs::absolute(db_path).string() + ".artifacts";
}

void print_summary(store::SqliteStore& store, std::int64_t experiment_id,
                   const Experiment& experiment, double seconds, std::ostream& out) {
  const auto trials = store.trials(experiment_id);
  print_trial_table(trials, out);
  print_cost_summary(store, experiment_id, experiment, out);
  if (const auto best = search_best(store, experiment_id, experiment)) {
    out << std::fixed << std::setprecision(2) << "best: trial " << best->ordinal << ", val acc "
        << best->result.val_accuracy * 100 << "%" << reward_text(experiment, *best) << ", "
        << best->arch_canonical << "\n";
  } else {
    out << "best: none (no trial completed" << (experiment.objective ? " with a reward" : "")
        << ")\n";
  }
  out << "trials: " << trials.size();
  if (experiment.budget.trials < kNoTrialLimit) out << " of " << experiment.budget.trials;
  if (experiment.budget.cost > 0) {
    double spent = 0;
    for (const auto& t : trials) spent += trained_epochs(t.hparams, t.state, t.result.epochs);
    out << std::fixed << std::setprecision(2) << ", cost " << spent / experiment.max_epochs()
        << " of " << experiment.budget.cost << " full trainings";
  }
  if (experiment.budget.seconds > 0) {
    double spent = 0;
    for (const auto& t : trials) spent += t.result.wall_seconds;
    out << std::fixed << std::setprecision(0) << ", evaluation time " << spent << " of "
        << experiment.budget.seconds << " s";
  }
  if (seconds > 0) out << ", wall time " << std::fixed << std::setprecision(1) << seconds << " s";
  out << "\n";
}

// Records what loading the data found (skipped files, duplicates dropped, leakage).
void record_data_report(store::SqliteStore& store, const PreparedExperiment& prepared) {
  if (!prepared.data) return;
  const auto& report = prepared.data->report;
  store.record_data_report(store.experiment().id,
                           {report.skipped_count(), report.duplicates_dropped_count(),
                            report.leakage, report.to_json(), 0});
}

void run_loop(store::SqliteStore& store, const Experiment& experiment, PreparedExperiment prepared,
              std::ostream& out) {
  const auto started = std::chrono::steady_clock::now();
  const auto experiment_id = store.experiment().id;
  // Made before the loop: the loop's end waits for trials that may still report to it.
  const auto progress = progress_on_stderr();
  SearchLoop loop(store, experiment_id, experiment, prepared, artifacts_dir(store.path()));
  loop.show_progress(progress.get());
  loop.run();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  print_summary(store, experiment_id, experiment, seconds, out);
}

namespace dist = nasforge::trainer::distributed;

// Pipeline stages are ranks: one process has nothing to cut a trial over.
void refuse_pipeline_in_one_process(const Experiment& experiment) {
  if (!experiment.parallel.pipeline) return;
  throw ConfigError(
      "parallel.pipeline: each trial is cut into stages over the ranks that train it, and this "
      "is one process; start it with `nasforge launch --nproc N` (or torchrun), or remove "
      "\"pipeline\"");
}

// Trials data-parallel over WORLD_SIZE ranks, or over groups of NASFORGE_GROUP_SIZE ranks side by
// side (launched by `nasforge launch`, torchrun, srun or mpirun with the standard environment):
// rank 0 owns the controller and the store and hands out the trials; ranks > 0 never touch SQLite.
void run_distributed(const Experiment& experiment, const std::string& db_path, bool resume,
                     const dist::DistributedOptions& options, std::ostream& out) {
  if (!experiment.trains()) {
    throw ConfigError("WORLD_SIZE=" + std::to_string(options.world_size) +
                      ": runs on several ranks need the \"train\" evaluator, not " +
                      experiment.evaluator.value("type", "?"));
  }
  if (experiment.fidelity && experiment.fidelity->continue_training) {
    throw ConfigError("WORLD_SIZE=" + std::to_string(options.world_size) +
                      ": \"fidelity.continue\" is not supported for trials on several ranks yet");
  }
  const auto groups = TrialGroupOptions::from_environment(options.world_size);
  if (const auto& pipeline = experiment.parallel.pipeline) {
    const int per_trial = groups.group_size > 0 ? groups.group_size : options.world_size;
    if (per_trial == 1) {
      throw ConfigError(
          "parallel.pipeline: trial groups of one rank leave nothing to cut into "
          "stages; use --group-size 2 or more");
    }
    if (pipeline->stages > 0 && per_trial % pipeline->stages != 0) {
      throw ConfigError("parallel.pipeline.stages: " + std::to_string(pipeline->stages) +
                        " stages do not divide the " + std::to_string(per_trial) +
                        " ranks of each trial");
    }
  }
  std::optional<store::SqliteStore> store;
  std::optional<store::WriterLease> lease;
  if (options.rank == 0) {
    // Refuse bad input before the other ranks are waited for.
    if (resume) {
      store.emplace(store::SqliteStore::open(db_path));
      lease.emplace(db_path);
    } else if (fs::exists(db_path)) {
      throw StoreError(db_path +
                       ": database already exists; continue it with `nasforge resume --db " +
                       db_path + "` or choose another --db");
    }
  } else {
    log::set_level(log::Level::kWarn);  // only rank 0 logs
  }
  auto device = trainer::resolve_device(experiment.training.device);
  if (device.is_cuda())
    device = c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(options.local_rank));
  auto config = experiment.training;
  config.device = device.str();
  PreparedExperiment prepared;
  prepared.space = space::make_search_space(experiment.space);
  auto data = std::make_shared<trainer::DataSplits>(trainer::load_splits(experiment.dataset));
  prepared.data = data;
  DistributedSearch search(options, groups, device, *prepared.space, data, config,
                           experiment.parallel.pipeline);
  if (options.rank != 0) {
    search.serve();
    return;
  }
  if (!store) {
    if (const auto parent = fs::path(db_path).parent_path(); !parent.empty()) {
      fs::create_directories(parent);
    }
    store.emplace(store::SqliteStore::create(db_path));
    lease.emplace(db_path);
    store->create_experiment(experiment.name, experiment.to_json());
  }
  record_data_report(*store, prepared);
  prepared.evaluator = search.master_evaluator();
  auto slots = experiment;  // one worker slot per trial group
  slots.parallel.workers = search.trials_at_once();
  slots.parallel.devices.clear();
  const auto started = std::chrono::steady_clock::now();
  const auto progress = progress_on_stderr();
  SearchLoop loop(*store, store->experiment().id, slots, prepared, artifacts_dir(store->path()));
  loop.show_progress(progress.get());
  loop.run();
  search.finish();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  log::info(search.describe());
  print_summary(*store, store->experiment().id, experiment, seconds, out);
}

}  // namespace

std::string default_db_path(const std::string& config_path) {
  return (fs::path("runs") / (fs::path(config_path).stem().string() + ".db")).string();
}

void run_search(const std::string& config_path, const std::string& db_path, std::ostream& out,
                const nlohmann::json& parallel) {
  auto experiment = load_experiment_file(config_path);
  if (!parallel.is_null()) {
    auto j = experiment.to_json();
    // --workers/--devices replace the file's slots and devices; its "pipeline" stays.
    const auto pipeline =
        j.value("parallel", nlohmann::json::object()).value("pipeline", nlohmann::json());
    j["parallel"] = parallel;
    if (!pipeline.is_null()) j["parallel"]["pipeline"] = pipeline;
    experiment = Experiment::from_json(j, "--workers/--devices");
  }
  const auto options = dist::DistributedOptions::from_environment();
  if (options.world_size > 1) {
    run_distributed(experiment, db_path, /*resume=*/false, options, out);
    return;
  }
  refuse_pipeline_in_one_process(experiment);
  // Check the data and the evaluator before any database exists.
  auto prepared = prepare(experiment);
  if (fs::exists(db_path)) {
    throw StoreError(db_path +
                     ": database already exists; continue it with `nasforge resume --db " +
                     db_path + "` or choose another --db");
  }
  if (const auto parent = fs::path(db_path).parent_path(); !parent.empty()) {
    fs::create_directories(parent);
  }
  auto store = store::SqliteStore::create(db_path);
  const store::WriterLease lease(db_path);
  store.create_experiment(experiment.name, experiment.to_json());
  record_data_report(store, prepared);
  log::info("experiment '" + experiment.name + "' recorded in " + db_path);
  run_loop(store, experiment, std::move(prepared), out);
}

void resume_search(const std::string& db_path, std::ostream& out) {
  auto store = store::SqliteStore::open(db_path);
  const auto row = store.experiment();
  // One writer at a time: a search still running on this database refuses the resume.
  std::optional<store::WriterLease> lease;
  if (dist::DistributedOptions::from_environment().world_size <= 1) lease.emplace(db_path);
  const auto experiment = Experiment::from_json(row.config, db_path + ": experiment config");
  const auto options = dist::DistributedOptions::from_environment();
  if (options.world_size > 1) {
    run_distributed(experiment, db_path, /*resume=*/true, options, out);
    return;
  }
  refuse_pipeline_in_one_process(experiment);
  log::info("resuming experiment '" + experiment.name + "' from " + db_path);
  auto prepared = prepare(experiment);
  record_data_report(store, prepared);
  run_loop(store, experiment, std::move(prepared), out);
}

void print_status(const std::string& db_path, std::ostream& out) {
  auto store = store::SqliteStore::open(db_path);
  const auto row = store.experiment();
  const auto experiment = Experiment::from_json(row.config, db_path + ": experiment config");
  out << "experiment: " << row.name << " (" << row.status << ")\n";
  out << "controller: " << row.config.at("controller").value("type", "?")
      << ", space: " << row.config.at("space").value("type", "?") << "\n";
  print_summary(store, row.id, experiment, 0, out);
  const auto changes = store.hparam_changes(row.id);
  if (!changes.empty()) {
    std::map<std::int64_t, std::int64_t> ordinal_of;
    for (const auto& t : store.trials(row.id)) ordinal_of[t.id] = t.ordinal;
    out << "hyperparameter changes:\n";
    for (const auto& c : changes) {
      out << "  trial " << (c.trial_id ? std::to_string(ordinal_of[c.trial_id]) : "-") << " epoch "
          << c.epoch << ": " << c.name << " = " << std::defaultfloat << std::setprecision(6)
          << c.value << " (" << c.reason << ")\n";
    }
  }
  const auto compressions = store.compressions(row.id);
  if (!compressions.empty()) {
    out << "compressions:\n";
    for (const auto& c : compressions) {
      out << "  " << c.id << ": trial " << c.parent_ordinal << " " << c.method << ", params "
          << c.params << ", FLOPs " << c.flops << std::fixed << std::setprecision(2) << ", val acc "
          << c.val_accuracy * 100 << "%";
      if (c.test_accuracy) out << ", test acc " << *c.test_accuracy * 100 << "%";
      out << std::setprecision(3) << ", " << c.latency_ms << " ms CPU, " << c.out_dir << "\n";
    }
  }
}

void export_best(const std::string& db_path, const std::string& out_dir, std::ostream& out,
                 const std::string& onnx, const ExportLimits& limits) {
  const auto onnx_mode = exporter::parse_onnx_mode(onnx, "export: --onnx");
  auto store = store::SqliteStore::open(db_path);
  const auto row = store.experiment();
  const auto experiment = Experiment::from_json(row.config, db_path + ": experiment config");
  const auto best = std::optional(best_within(store, row.id, experiment, limits));
  const auto space = space::make_search_space(experiment.space);
  const auto arch = space->from_json(best->arch);
  fs::create_directories(out_dir);

  nlohmann::json model = {{"format", kModelFormat},
                          {"version", kModelFormatVersion},
                          {"experiment", row.name},
                          {"trial", best->ordinal},
                          {"space", experiment.space},
                          {"architecture", space->to_json(arch)},
                          {"val_accuracy", best->result.val_accuracy},
                          {"params", best->result.params},
                          {"flops", best->result.flops}};
  nlohmann::json metrics = {{"val_accuracy", best->result.val_accuracy}};
  if (const auto reward = best->result.metrics.find(Objective::kRewardMetric);
      reward != best->result.metrics.end()) {
    metrics["reward"] = reward->second;
  }
  if (const auto latency = best->result.metrics.find(Objective::kLatencyMetric);
      latency != best->result.metrics.end()) {
    metrics["latency_ms"] = latency->second;
  }
  std::pair<std::shared_ptr<space::Network>, exporter::ModelSpec> trained;
  if (experiment.trains()) {
    const auto data = trainer::load_splits(experiment.dataset);
    model["dataset"] = experiment.dataset.to_json();
    model["input_shape"] = {data.shape.channels, data.shape.height, data.shape.width};
    model["num_classes"] = data.num_classes;
    model["normalization"] = {{"mean", data.mean}, {"std", data.std}};
    auto network = space::build_network(*space, arch, data.shape, data.num_classes);
    trainer::load_weights(*network, best->result.weights_path);
    if (data.test.size() > 0) {
      const auto test = trainer::evaluate_network(*network, data.test, {data.mean, data.std},
                                                  c10::Device(c10::kCPU), 1000);
      metrics["test_accuracy"] = test.accuracy;
      metrics["test_loss"] = test.loss;
    } else {
      // An image folder without test/, arrays without test arrays: nothing to measure on.
      log::warn(experiment.dataset.path + ": the dataset has no test split; " +
                "metrics.json has no test accuracy");
    }
    fs::copy_file(best->result.weights_path, fs::path(out_dir) / "weights.pt",
                  fs::copy_options::overwrite_existing);
    trained = {network, {data.shape, data.num_classes, data.mean, data.std, data.class_names}};
  } else {
    metrics["benchmark"] = best->result.extra;
  }
  model["metrics"] = metrics;
  std::ofstream(fs::path(out_dir) / "architecture.json") << model.dump(2) << "\n";
  std::ofstream(fs::path(out_dir) / "metrics.json") << metrics.dump(2) << "\n";
  // The network out of nasforge: model.py + model.safetensors for PyTorch, and model.onnx.
  std::optional<exporter::PortableModelReport> portable;
  if (trained.first) {
    portable = exporter::write_portable_model(*space, arch, *trained.first, trained.second, out_dir,
                                              onnx_mode);
  }
  out << "exported trial " << best->ordinal << " (" << best->arch_canonical << ") to " << out_dir
      << "\n";
  out << std::fixed << std::setprecision(2) << "val acc " << best->result.val_accuracy * 100 << "%";
  if (metrics.contains("test_accuracy")) {
    out << ", test acc " << metrics["test_accuracy"].get<double>() * 100 << "%";
  }
  out << "\n";
  if (portable) {
    out << "PyTorch: model.py + model.safetensors";
    if (portable->onnx.written) out << "; ONNX: model.onnx (" << portable->onnx.message << ")";
    out << "\n";
    if (!portable->onnx.written && onnx_mode == exporter::OnnxMode::kAuto) {
      log::warn("model.onnx not written: " + portable->onnx.message);
    }
  }
}

double evaluate_exported(const std::string& model_dir, const std::string& split,
                         std::ostream& out) {
  const auto path = fs::path(model_dir) / "architecture.json";
  std::ifstream in(path);
  if (!in) throw DataError(path.string() + ": not found; export a model with `nasforge export`");
  nlohmann::json model;
  try {
    model = nlohmann::json::parse(in);
  } catch (const nlohmann::json::parse_error&) {
    throw DataError(path.string() + ": malformed JSON");
  }
  if (model.value("format", "") != kModelFormat ||
      model.value("version", 0) != kModelFormatVersion) {
    throw DataError(path.string() + ": not a nasforge model (format " + kModelFormat + " v" +
                    std::to_string(kModelFormatVersion) + ")");
  }
  if (!model.contains("dataset")) {
    throw DataError(path.string() + ": a benchmark-table architecture has no weights to evaluate");
  }
  if (split != "test" && split != "validation") {
    throw ConfigError("--split: unknown split '" + split + "'; expected test or validation");
  }
  const auto space = space::make_search_space(model.at("space"));
  const auto arch = space->from_json(model.at("architecture"));
  const auto spec =
      trainer::DatasetSpec::from_json(model.at("dataset"), path.string() + ": dataset");
  const auto data = trainer::load_splits(spec);
  if (split == "test" && data.test.size() == 0) {
    throw DataError(spec.path + ": the dataset has no test split (an image folder needs test/, " +
                    "NumPy arrays x_test and y_test); evaluate --split validation instead");
  }
  // A compressed network (`nasforge compress`) says its pruned inner widths.
  const auto* blocks = dynamic_cast<const space::BlockSpace*>(space.get());
  auto network = model.contains("inner_widths") && blocks
                     ? space::build_block_network(
                           *blocks, arch,
                           space::BlockWidths::from_json(model.at("inner_widths"),
                                                         path.string() + ": inner_widths"),
                           data.shape, data.num_classes)
                     : space::build_network(*space, arch, data.shape, data.num_classes);
  trainer::load_weights(*network, (fs::path(model_dir) / "weights.pt").string());
  const auto metrics =
      trainer::evaluate_network(*network, split == "test" ? data.test : data.validation,
                                {data.mean, data.std}, c10::Device(c10::kCPU), 1000);
  out << std::fixed << std::setprecision(4) << split << " accuracy " << metrics.accuracy << " ("
      << arch.canonical() << ")\n";
  return metrics.accuracy;
}

}  // namespace nasforge::search
