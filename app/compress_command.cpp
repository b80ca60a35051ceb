#include "app/compress_command.h"

#include <ATen/ATen.h>
#include <torch/utils.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <optional>
#include <ostream>
#include <sstream>

#include "common/errors.h"
#include "common/log.h"
#include "compress/distillation.h"
#include "compress/pruning.h"
#include "export/portable_model.h"
#include "search/experiment.h"
#include "space/block_space.h"
#include "space/modules/block_network.h"
#include "store/sqlite_store.h"
#include "trainer/training_loop.h"
#include "trainer/trial_runner.h"

namespace nasforge::app {
namespace {

namespace fs = std::filesystem;

double parse_number(const std::string& text, const std::string& flag) {
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != text.size() || !std::isfinite(value)) {
    throw ConfigError("compress: " + flag + " '" + text + "': expected a number");
  }
  return value;
}

int parse_whole(const std::string& text, const std::string& flag, int min, int max) {
  if (text.empty() || text.size() > 6 ||
      text.find_first_not_of("0123456789") != std::string::npos || std::stoi(text) < min ||
      std::stoi(text) > max) {
    throw ConfigError("compress: " + flag + " '" + text + "': expected a whole number from " +
                      std::to_string(min) + " to " + std::to_string(max));
  }
  return std::stoi(text);
}

std::vector<std::string> parse_methods(const std::string& text) {
  std::vector<std::string> methods;
  std::stringstream in(text);
  for (std::string m; std::getline(in, m, ',');) {
    if (m != "prune" && m != "distill") {
      throw ConfigError("compress: --method: unknown method '" + m +
                        "'; expected prune, distill or prune,distill (quantization is not "
                        "available yet)");
    }
    if (std::find(methods.begin(), methods.end(), m) != methods.end()) {
      throw ConfigError("compress: --method: '" + m + "' named twice");
    }
    methods.push_back(m);
  }
  if (methods.empty()) throw ConfigError("compress: --method: expected prune, distill or both");
  if (methods.size() == 2 && methods[0] != "prune") {
    throw ConfigError(
        "compress: --method: methods run in the order prune, distill; write "
        "prune,distill");
  }
  return methods;
}

bool has(const std::vector<std::string>& methods, const std::string& m) {
  return std::find(methods.begin(), methods.end(), m) != methods.end();
}

// A recorded experiment, opened for reading its trials.
struct Source {
  std::string db;
  store::SqliteStore store;
  store::ExperimentRow row;
  search::Experiment experiment;
  std::unique_ptr<space::SearchSpace> space;

  explicit Source(const std::string& path)
      : db(path),
        store(store::SqliteStore::open(path)),
        row(store.experiment()),
        experiment(search::Experiment::from_json(row.config, path + ": experiment config")),
        space(space::make_search_space(experiment.space)) {}

  // `which`: an ordinal or "best"; `role` names it in errors ("--trial").
  store::TrialRow trial(const std::string& which, const std::string& flag) const {
    std::optional<store::TrialRow> found;
    if (which == "best") {
      found = store.best_trial(row.id);
      if (!found) throw StoreError(db + ": no completed trial; " + flag + " best has none to use");
    } else {
      const auto ordinal = parse_whole(which, flag, 0, 999999);
      for (auto& t : store.trials(row.id)) {
        if (t.ordinal == ordinal) found = std::move(t);
      }
      if (!found) {
        throw ConfigError("compress: " + flag + " " + which + ": " + db + " has no such trial");
      }
    }
    if (!experiment.trains()) {
      throw ConfigError("compress: " + flag + " " + which + ": trial " +
                        std::to_string(found->ordinal) + " was looked up in a benchmark table (" +
                        experiment.evaluator.value("type", "?") +
                        "), so it has no weights to compress");
    }
    return *found;
  }

  // The trial's trained network (its weights must exist).
  std::shared_ptr<space::Network> network(const store::TrialRow& t, const trainer::DataSplits& data,
                                          const std::string& flag) const {
    if (t.state != TrialState::kCompleted || t.result.weights_path.empty() ||
        !fs::exists(t.result.weights_path)) {
      throw ConfigError("compress: " + flag + " " + std::to_string(t.ordinal) + ": trial " +
                        std::to_string(t.ordinal) + " (" + to_string(t.state) +
                        ") has no saved weights; choose a completed trial of a trained search");
    }
    auto net = space::build_network(*space, space->from_json(t.arch), data.shape, data.num_classes);
    trainer::load_weights(*net, t.result.weights_path);
    net->eval();
    return net;
  }
};

// The fine-tuning configuration: the search's training with the trial's hyperparameters.
trainer::TrainConfig tuning_config(const search::Experiment& experiment, const store::TrialRow& t,
                                   int epochs, double learning_rate) {
  nlohmann::json overrides = nlohmann::json::object();
  for (const char* key : {"batch_size", "momentum", "weight_decay", "learning_rate"}) {
    if (t.hparams.is_object() && t.hparams.contains(key)) overrides[key] = t.hparams.at(key);
  }
  auto config = experiment.training.with_overrides(overrides, "trial hparams");
  config.learning_rate = learning_rate > 0 ? learning_rate : config.learning_rate;
  config.epochs = epochs;
  config.start_epoch = 0;
  config.warmup_epochs = 0;
  return config;
}

// Median milliseconds of one forward pass of one image on the CPU.
double cpu_latency_ms(space::Network& network, const space::InputShape& shape) {
  torch::NoGradGuard no_grad;
  network.to(at::kCPU);
  network.eval();
  const auto x = at::rand({1, shape.channels, shape.height, shape.width});
  for (int i = 0; i < 5; ++i) network.forward(x);
  std::vector<double> times;
  const auto budget = std::chrono::steady_clock::now() + std::chrono::seconds(1);
  while (times.size() < 10 || (times.size() < 200 && std::chrono::steady_clock::now() < budget)) {
    const auto start = std::chrono::steady_clock::now();
    network.forward(x);
    times.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
  }
  std::nth_element(times.begin(), times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2),
                   times.end());
  return times[times.size() / 2];
}

std::string percent(double v) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(2) << v * 100 << "%";
  return s.str();
}

}  // namespace

void run_compress(const CompressFlags& flags, std::ostream& out) {
  // Every flag is checked before anything is loaded.
  const auto methods = parse_methods(flags.methods);
  const bool prune = has(methods, "prune"), distill = has(methods, "distill");
  const double ratio = parse_number(flags.prune_ratio, "--prune-ratio");
  if (prune && !(ratio > 0 && ratio < 1)) {
    throw ConfigError("compress: --prune-ratio " + flags.prune_ratio +
                      ": expected a fraction of the FLOPs or parameters to remove, in (0, 1)");
  }
  const auto target = compress::parse_prune_target(flags.prune_target, "compress: --prune-target");
  const auto ranking = compress::parse_ranking(flags.ranking, "compress: --ranking");
  const double sparsity = parse_number(flags.sparsity, "--sparsity");
  if (sparsity < 0) throw ConfigError("compress: --sparsity " + flags.sparsity + ": expected >= 0");
  if (sparsity > 0 && (!prune || ranking != compress::Ranking::kBatchNorm)) {
    throw ConfigError(
        "compress: --sparsity penalises the BatchNorm scales that rank channels; "
        "it needs --method prune and --ranking bn");
  }
  const int epochs = parse_whole(flags.epochs, "--epochs", 0, 10000);
  if (epochs == 0 && (distill || sparsity > 0)) {
    throw ConfigError("compress: --epochs 0: distillation and --sparsity train; give 1 or more");
  }
  compress::DistillOptions distill_options;
  distill_options.alpha = parse_number(flags.alpha, "--alpha");
  distill_options.temperature = parse_number(flags.temperature, "--temperature");
  compress::check_distill_options(distill_options);
  const double learning_rate =
      flags.learning_rate.empty() ? 0 : parse_number(flags.learning_rate, "--lr");
  if (!flags.learning_rate.empty() && !(learning_rate > 0)) {
    throw ConfigError("compress: --lr " + flags.learning_rate + ": expected a number above 0");
  }
  const auto onnx_mode = exporter::parse_onnx_mode(flags.onnx, "compress: --onnx");
  if (flags.out.empty()) throw ConfigError("compress: --out: expected the folder to write");

  Source source(flags.db);
  const auto parent = source.trial(flags.trial, "--trial");
  const auto* blocks = dynamic_cast<const space::BlockSpace*>(source.space.get());
  if (prune && !blocks) {
    throw ConfigError("compress: pruning needs a blocks network; " + flags.db + " searched the '" +
                      source.space->type() + "' space (use --method distill)");
  }
  const auto arch = source.space->from_json(parent.arch);
  const auto data = trainer::load_splits(source.experiment.dataset);
  const auto& config = source.experiment.training;
  if (config.threads > 0) at::set_num_threads(config.threads);
  const auto device = trainer::resolve_device(config.device);
  const trainer::Normalization norm{data.mean, data.std};

  // The teacher, checked against the student's data before any training.
  std::shared_ptr<space::Network> teacher;
  std::int64_t teacher_ordinal = -1;
  if (distill) {
    const auto teacher_db = flags.teacher_db.empty() ? flags.db : flags.teacher_db;
    std::optional<Source> other;
    if (teacher_db != flags.db) other.emplace(teacher_db);
    const Source& from = other ? *other : source;
    const auto row = from.trial(flags.teacher, "--teacher");
    if (other) {
      const auto teacher_data = trainer::load_splits(from.experiment.dataset);
      compress::check_teacher_fits(teacher_data.shape, teacher_data.num_classes, data.shape,
                                   data.num_classes);
      teacher = from.network(row, teacher_data, "--teacher");
    } else {
      teacher = from.network(row, data, "--teacher");
    }
    teacher_ordinal = row.ordinal;
  }

  nlohmann::json settings = {{"methods", methods}, {"epochs", epochs}};
  std::shared_ptr<space::Network> network;
  std::optional<space::BlockWidths> widths;
  nlohmann::json before = nullptr;
  if (prune) {
    network = source.network(parent, data, "--trial");
    // The uncompressed network's figures, measured as the result's are.
    const double latency_before = cpu_latency_ms(*network, data.shape);
    network->to(device);
    before = {{"params", network->parameter_count()},
              {"flops", network->flops()},
              {"val_accuracy", trainer::evaluate_network(*network, data.validation, norm, device,
                                                         config.eval_batch_size)
                                   .accuracy},
              {"latency_ms", latency_before}};
    if (data.test.size() > 0) {
      before["test_accuracy"] =
          trainer::evaluate_network(*network, data.test, norm, device, config.eval_batch_size)
              .accuracy;
    }
    const auto original = space::BlockWidths::defaults(*blocks, arch);
    const auto tune = tuning_config(source.experiment, parent, std::max(epochs, 1),
                                    learning_rate > 0 ? learning_rate : 0);
    const double fine_lr = learning_rate > 0 ? learning_rate : 0.1 * tune.learning_rate;
    if (sparsity > 0) {
      // Network slimming: train with the L1 penalty on the ranking scales, then rank by them.
      auto slim = tune;
      slim.learning_rate = fine_lr;
      compress::FineTuneOptions options;
      options.sparsity = sparsity;
      auto* net = network.get();
      options.sparse_scales = [net, blocks, &arch, &original] {
        return compress::ranked_batchnorm_scales(*net, *blocks, arch, original);
      };
      log::info("sparsity training: " + std::to_string(epochs) + " epochs, L1 " + flags.sparsity +
                " on the BatchNorm scales");
      compress::fine_tune(*network, data, slim, device, source.experiment.seed, options);
      network->to(at::kCPU);
    }
    const auto scores = compress::rank_channels(*network, *blocks, arch, original, ranking);
    const auto plan = compress::plan_pruning(*blocks, arch, original, data.shape, data.num_classes,
                                             scores, ratio, target);
    network = compress::apply_pruning(*network, *blocks, arch, plan, data.shape, data.num_classes);
    widths = plan.pruned;
    log::info("pruned " + std::to_string(plan.removed_channels) + " channels: params " +
              std::to_string(plan.before.params) + " -> " + std::to_string(plan.after.params) +
              ", FLOPs " + std::to_string(plan.before.flops) + " -> " +
              std::to_string(plan.after.flops));
    settings["prune_ratio"] = ratio;
    settings["prune_target"] = compress::to_string(target);
    settings["ranking"] = compress::to_string(ranking);
    settings["sparsity"] = sparsity;
    settings["removed_channels"] = plan.removed_channels;
    settings["learning_rate"] = fine_lr;
    if (epochs > 0) {
      auto fine = tune;
      fine.learning_rate = fine_lr;
      compress::FineTuneOptions options;
      options.teacher = teacher;
      options.distill = distill_options;
      compress::fine_tune(*network, data, fine, device, source.experiment.seed + 1, options);
    }
  } else {
    // Distillation alone: the trial's architecture, trained from scratch with the teacher.
    torch::manual_seed(source.experiment.seed);
    network = space::build_network(*source.space, arch, data.shape, data.num_classes);
    const auto scratch = tuning_config(source.experiment, parent, epochs, learning_rate);
    settings["learning_rate"] = scratch.learning_rate;
    compress::FineTuneOptions options;
    options.teacher = teacher;
    options.distill = distill_options;
    compress::fine_tune(*network, data, scratch, device, source.experiment.seed, options);
  }
  if (distill) {
    settings["teacher"] = teacher_ordinal;
    settings["teacher_db"] = flags.teacher_db.empty() ? flags.db : flags.teacher_db;
    settings["alpha"] = distill_options.alpha;
    settings["temperature"] = distill_options.temperature;
  }

  // Evaluation and the files, as `nasforge export` writes them (plus the inner widths).
  network->to(device);
  network->eval();
  const auto val =
      trainer::evaluate_network(*network, data.validation, norm, device, config.eval_batch_size);
  std::optional<double> test_accuracy;
  if (data.test.size() > 0) {
    test_accuracy =
        trainer::evaluate_network(*network, data.test, norm, device, config.eval_batch_size)
            .accuracy;
  }
  network->to(at::kCPU);
  const double latency = cpu_latency_ms(*network, data.shape);
  fs::create_directories(flags.out);
  trainer::save_weights(*network, (fs::path(flags.out) / "weights.pt").string());
  std::string method;
  for (const auto& m : methods) method += (method.empty() ? "" : "+") + m;
  nlohmann::json metrics = {{"val_accuracy", val.accuracy}, {"val_loss", val.loss}};
  if (test_accuracy) metrics["test_accuracy"] = *test_accuracy;
  metrics["latency_ms_cpu_batch1"] = latency;
  nlohmann::json model = {
      {"format", "nasforge-model"},
      {"version", 1},
      {"experiment", source.row.name},
      {"trial", parent.ordinal},
      {"space", source.experiment.space},
      {"architecture", source.space->to_json(arch)},
      {"val_accuracy", val.accuracy},
      {"params", network->parameter_count()},
      {"flops", network->flops()},
      {"dataset", source.experiment.dataset.to_json()},
      {"input_shape", {data.shape.channels, data.shape.height, data.shape.width}},
      {"num_classes", data.num_classes},
      {"normalization", {{"mean", data.mean}, {"std", data.std}}},
      {"compression", {{"method", method}, {"settings", settings}}},
      {"metrics", metrics}};
  if (widths) model["inner_widths"] = widths->to_json();
  if (!before.is_null()) model["compression"]["before"] = before;
  std::ofstream(fs::path(flags.out) / "architecture.json") << model.dump(2) << "\n";
  std::ofstream(fs::path(flags.out) / "metrics.json") << metrics.dump(2) << "\n";
  const auto portable = exporter::write_portable_model(
      *source.space, arch, *network,
      {data.shape, data.num_classes, data.mean, data.std, data.class_names}, flags.out, onnx_mode,
      exporter::default_python(), widths ? &*widths : nullptr);
  if (!portable.onnx.written && onnx_mode == exporter::OnnxMode::kAuto) {
    log::warn("model.onnx not written: " + portable.onnx.message);
  }

  store::CompressionRow row;
  row.experiment_id = source.row.id;
  row.parent_ordinal = parent.ordinal;
  row.method = method;
  row.settings = settings;
  row.params = network->parameter_count();
  row.flops = network->flops();
  row.model_bytes =
      static_cast<std::int64_t>(fs::file_size(fs::path(flags.out) / "model.safetensors"));
  row.val_accuracy = val.accuracy;
  row.test_accuracy = test_accuracy;
  row.latency_ms = latency;
  row.out_dir = fs::absolute(flags.out).string();
  const auto id = source.store.record_compression(row);

  out << "compressed trial " << parent.ordinal << " (" << method << ") to " << flags.out
      << ", recorded as compression " << id << "\n";
  if (!before.is_null()) {
    out << "before: params " << before["params"].get<std::int64_t>() << ", FLOPs "
        << before["flops"].get<std::int64_t>() << ", val acc "
        << percent(before["val_accuracy"].get<double>());
    if (before.contains("test_accuracy")) {
      out << ", test acc " << percent(before["test_accuracy"].get<double>());
    }
    out << std::fixed << std::setprecision(3) << ", " << before["latency_ms"].get<double>()
        << " ms/image on CPU\n";
  }
  out << "after:  params " << row.params << ", FLOPs " << row.flops << ", val acc "
      << percent(val.accuracy);
  if (test_accuracy) out << ", test acc " << percent(*test_accuracy);
  out << std::fixed << std::setprecision(3) << ", " << latency << " ms/image on CPU, "
      << row.model_bytes << " bytes\n";
  if (portable.onnx.written) out << "ONNX: model.onnx (" << portable.onnx.message << ")\n";
}

}  // namespace nasforge::app
