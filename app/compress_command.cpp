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
#include "compress/quantization.h"
#include "export/portable_model.h"
#include "export/qdq_onnx.h"
#include "export/safetensors.h"
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
  // The order the methods run in; ptq and qat are two ways of the same last step.
  auto rank = [](const std::string& m) {
    return m == "prune" ? 0 : m == "distill" ? 1 : (m == "ptq" || m == "qat") ? 2 : -1;
  };
  std::vector<std::string> methods;
  std::stringstream in(text);
  for (std::string m; std::getline(in, m, ',');) {
    if (rank(m) < 0) {
      throw ConfigError("compress: --method: unknown method '" + m +
                        "'; expected prune, distill, ptq or qat (e.g. prune,distill,qat)");
    }
    if (std::find(methods.begin(), methods.end(), m) != methods.end()) {
      throw ConfigError("compress: --method: '" + m + "' named twice");
    }
    if (!methods.empty() && rank(methods.back()) >= rank(m)) {
      throw ConfigError(
          "compress: --method: methods run in the order prune, distill, then one of ptq or qat; "
          "write them in that order (e.g. prune,distill or prune,distill,qat)");
    }
    methods.push_back(m);
  }
  if (methods.empty()) {
    throw ConfigError("compress: --method: expected prune, distill, ptq or qat (or a list)");
  }
  return methods;
}

// The output folder is replaced as a whole once the run completes: only a new or empty folder,
// or one an earlier compression wrote (its architecture.json says so), may be replaced.
void check_replaceable(const std::string& out) {
  const fs::path dir(out);
  if (!fs::exists(dir)) return;
  if (!fs::is_directory(dir)) {
    throw ConfigError("compress: --out " + out + ": exists and is not a folder");
  }
  if (fs::is_empty(dir)) return;
  std::ifstream in(dir / "architecture.json");
  const auto model = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!model.is_object() || !model.contains("compression")) {
    throw ConfigError("compress: --out " + out +
                      ": a folder that an earlier compression did not write (it would be "
                      "replaced); choose a new or empty folder");
  }
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
  const bool ptq = has(methods, "ptq"), qat = has(methods, "qat"), quantize = ptq || qat;
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
  check_replaceable(flags.out);
  const int calibration_batches =
      parse_whole(flags.calibration_batches, "--calibration-batches", 0, 100000);
  if (quantize && calibration_batches == 0) {
    throw ConfigError(
        "compress: --calibration-batches 0: quantization calibrates its activation ranges on "
        "training batches; give 1 or more");
  }
  const int qat_epochs = parse_whole(flags.qat_epochs, "--qat-epochs", 0, 10000);
  const double qat_lr = flags.qat_lr.empty() ? 0 : parse_number(flags.qat_lr, "--qat-lr");
  if (!flags.qat_lr.empty() && !(qat_lr > 0)) {
    throw ConfigError("compress: --qat-lr " + flags.qat_lr + ": expected a number above 0");
  }
  const int weight_range = parse_whole(flags.weight_range, "--weight-range", 1, 127);
  const int ort_threads = parse_whole(flags.ort_threads, "--ort-threads", 1, 256);
  const std::optional<int> seed_flag =
      flags.seed.empty() ? std::nullopt
                         : std::optional<int>(parse_whole(flags.seed, "--seed", 0, 999999));

  Source source(flags.db);
  const auto parent = source.trial(flags.trial, "--trial");
  const auto* blocks = dynamic_cast<const space::BlockSpace*>(source.space.get());
  if ((prune || quantize) && !blocks) {
    throw ConfigError("compress: pruning and quantization need a blocks network; " + flags.db +
                      " searched the '" + source.space->type() + "' space (use --method distill)");
  }
  const std::uint64_t seed =
      seed_flag ? static_cast<std::uint64_t>(*seed_flag) : source.experiment.seed;
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
  // The uncompressed network's figures, measured as the result's are.
  auto measure_before = [&](space::Network& net) {
    const double latency_before = cpu_latency_ms(net, data.shape);
    net.to(device);
    nlohmann::json figures = {
        {"params", net.parameter_count()},
        {"flops", net.flops()},
        {"val_accuracy",
         trainer::evaluate_network(net, data.validation, norm, device, config.eval_batch_size)
             .accuracy},
        {"latency_ms", latency_before}};
    if (data.test.size() > 0) {
      figures["test_accuracy"] =
          trainer::evaluate_network(net, data.test, norm, device, config.eval_batch_size).accuracy;
    }
    return figures;
  };
  if (prune) {
    network = source.network(parent, data, "--trial");
    before = measure_before(*network);
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
      compress::fine_tune(*network, data, slim, device, seed, options);
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
      compress::fine_tune(*network, data, fine, device, seed + 1, options);
    }
  } else if (!distill) {
    // Quantization alone: the trial's network as it was trained.
    network = source.network(parent, data, "--trial");
    before = measure_before(*network);
  } else {
    // Distillation alone: the trial's architecture, trained from scratch with the teacher.
    torch::manual_seed(seed);
    network = space::build_network(*source.space, arch, data.shape, data.num_classes);
    const auto scratch = tuning_config(source.experiment, parent, epochs, learning_rate);
    settings["learning_rate"] = scratch.learning_rate;
    compress::FineTuneOptions options;
    options.teacher = teacher;
    options.distill = distill_options;
    compress::fine_tune(*network, data, scratch, device, seed, options);
  }
  if (distill) {
    settings["teacher"] = teacher_ordinal;
    settings["teacher_db"] = flags.teacher_db.empty() ? flags.db : flags.teacher_db;
    settings["alpha"] = distill_options.alpha;
    settings["temperature"] = distill_options.temperature;
  }

  // Quantization of the float network the methods before it left.
  std::shared_ptr<compress::QuantNetwork> quant;
  if (quantize) {
    network->to(at::kCPU);
    network->eval();
    compress::QuantOptions quant_options;
    quant_options.weight_max = weight_range;
    quant = compress::quantizable_block_network(*network, *blocks, arch, quant_options);
    const auto tune = tuning_config(source.experiment, parent, std::max(qat_epochs, 1), 0);
    compress::calibrate(*quant, data.train, norm, calibration_batches, tune.batch_size, device);
    nlohmann::json q = {{"method", ptq ? "ptq" : "qat"},
                        {"calibration_batches", calibration_batches},
                        {"calibration_batch_size", tune.batch_size},
                        {"weights", "int8, symmetric per output channel"},
                        {"weight_range", weight_range},
                        {"activations", "uint8, affine per tensor"},
                        {"batchnorm", "folded into the conv before it"}};
    if (qat && qat_epochs > 0) {
      auto fine = tune;
      fine.epochs = qat_epochs;
      fine.learning_rate = qat_lr > 0 ? qat_lr : 0.01 * tune.learning_rate;
      log::info("quantization-aware training: " + std::to_string(qat_epochs) + " epochs");
      compress::FineTuneOptions options;
      compress::fine_tune(*quant, data, fine, device, seed + 2, options);
      q["epochs"] = qat_epochs;
      q["learning_rate"] = fine.learning_rate;
    }
    settings["quantization"] = q;
  }
  space::Network& result = quant ? static_cast<space::Network&>(*quant) : *network;

  // Evaluation and the files, as `nasforge export` writes them (plus the inner widths).
  result.to(device);
  result.eval();
  const auto val =
      trainer::evaluate_network(result, data.validation, norm, device, config.eval_batch_size);
  std::optional<double> test_accuracy;
  if (data.test.size() > 0) {
    test_accuracy =
        trainer::evaluate_network(result, data.test, norm, device, config.eval_batch_size).accuracy;
  }
  result.to(at::kCPU);
  const double latency = cpu_latency_ms(result, data.shape);
  network->to(at::kCPU);
  network->eval();
  // Everything is written into DIR.partial, renamed to DIR once complete, and only then recorded:
  // an interrupted run (a crash, a kill) leaves neither a half-written DIR nor a row, and the
  // next run starts over from the trial, clearing what the interrupted one left.
  auto out_dir = fs::path(flags.out).lexically_normal();
  if (!out_dir.has_filename()) out_dir = out_dir.parent_path();  // "DIR/"
  const auto staging_path = fs::path(out_dir.string() + ".partial");
  const auto staging = staging_path.string();
  if (fs::exists(staging_path)) {
    log::warn("compress: " + staging + " is what an interrupted run left; starting over");
    fs::remove_all(staging_path);
  }
  fs::create_directories(staging_path);
  trainer::save_weights(*network, (fs::path(staging) / "weights.pt").string());
  std::string method;
  for (const auto& m : methods) method += (method.empty() ? "" : "+") + m;
  nlohmann::json metrics = {{"val_accuracy", val.accuracy}, {"val_loss", val.loss}};
  if (test_accuracy) metrics["test_accuracy"] = *test_accuracy;
  metrics["latency_ms_cpu_batch1"] = latency;
  // model.py, model.safetensors and model.onnx hold the float network (for a quantized one, the
  // network before quantization: the fp32 reference of model_int8.onnx).
  const auto python = exporter::default_python();
  const auto portable = exporter::write_portable_model(
      *source.space, arch, *network,
      {data.shape, data.num_classes, data.mean, data.std, data.class_names}, staging, onnx_mode,
      python, widths ? &*widths : nullptr);
  if (!portable.onnx.written && onnx_mode == exporter::OnnxMode::kAuto) {
    log::warn("model.onnx not written: " + portable.onnx.message);
  }
  const auto fp32_bytes =
      static_cast<std::int64_t>(fs::file_size(fs::path(staging) / "model.safetensors"));

  nlohmann::json onnx_runtime = nullptr;
  if (quant) {
    auto graph = quant->graph_json();
    graph["input_shape"] = {data.shape.channels, data.shape.height, data.shape.width};
    graph["mean"] = data.mean;
    graph["std"] = data.std;
    std::ofstream(fs::path(staging) / "quant_graph.json") << graph.dump(2) << "\n";
    exporter::write_safetensors((fs::path(staging) / "quant_weights.safetensors").string(),
                                quant->export_tensors());
    metrics["int8_bytes"] = quant->int8_bytes();
    settings["quantization"]["int8_bytes"] = quant->int8_bytes();
    settings["quantization"]["fp32_bytes"] = fp32_bytes;
    // The folded float network's own bytes: what quantization alone saves.
    settings["quantization"]["fp32_folded_bytes"] = 4 * quant->parameter_count();
    if (onnx_mode != exporter::OnnxMode::kOff) {
      const auto qdq = exporter::export_qdq_onnx(staging, python);
      if (!qdq.written) {
        if (onnx_mode == exporter::OnnxMode::kRequired) {
          throw Error("model_int8.onnx not written: " + qdq.message);
        }
        log::warn("model_int8.onnx not written: " + qdq.message);
      } else {
        // ONNX Runtime's accuracy and CPU latency, fp32 and int8, on the test set (else
        // validation), from a temporary copy of its images.
        const bool on_test = data.test.size() > 0;
        const auto& set = on_test ? data.test : data.validation;
        const auto data_path = (fs::path(staging) / ".onnx_runtime_data.safetensors").string();
        exporter::write_safetensors(
            data_path, {{"images", set.images.contiguous()}, {"labels", set.labels.to(at::kLong)}});
        std::vector<std::string> models;
        if (portable.onnx.written) models.push_back((fs::path(staging) / "model.onnx").string());
        models.push_back((fs::path(staging) / "model_int8.onnx").string());
        exporter::OrtOptions ort_options;
        ort_options.data = data_path;
        ort_options.threads = ort_threads;
        const auto report = exporter::run_onnx_runtime(models, ort_options, python);
        std::error_code ignored;
        fs::remove(data_path, ignored);
        if (!report.ran) {
          if (onnx_mode == exporter::OnnxMode::kRequired) {
            throw Error("ONNX Runtime could not run model_int8.onnx: " + report.message);
          }
          log::warn("ONNX Runtime not run: " + report.message);
        } else {
          auto figures = [&](const exporter::OrtModelFigures& f) {
            return nlohmann::json{{"file", fs::path(f.path).filename().string()},
                                  {"accuracy", f.accuracy},
                                  {"latency_ms_batch1", f.latency_ms_batch1},
                                  {"latency_ms_batch64", f.latency_ms_batch64},
                                  {"quantized_kernels", f.quantized_kernels},
                                  {"float_convs", f.float_convs},
                                  {"file_bytes", static_cast<std::int64_t>(fs::file_size(f.path))}};
          };
          onnx_runtime = {{"provider", "CPUExecutionProvider"},
                          {"threads", ort_threads},
                          {"accuracy_on", on_test ? "test" : "validation"},
                          {"int8", figures(report.models.back())}};
          if (report.models.size() == 2) {
            const auto& f = report.models.front();
            const auto& q = report.models.back();
            onnx_runtime["fp32"] = figures(f);
            onnx_runtime["speedup_batch1"] = f.latency_ms_batch1 / q.latency_ms_batch1;
            onnx_runtime["speedup_batch64"] = f.latency_ms_batch64 / q.latency_ms_batch64;
          }
          settings["onnx_runtime"] = onnx_runtime;
        }
      }
    }
  }

  nlohmann::json model = {
      {"format", "nasforge-model"},
      {"version", 1},
      {"experiment", source.row.name},
      {"trial", parent.ordinal},
      {"space", source.experiment.space},
      {"architecture", source.space->to_json(arch)},
      {"val_accuracy", val.accuracy},
      {"params", result.parameter_count()},
      {"flops", result.flops()},
      {"dataset", source.experiment.dataset.to_json()},
      {"input_shape", {data.shape.channels, data.shape.height, data.shape.width}},
      {"num_classes", data.num_classes},
      {"normalization", {{"mean", data.mean}, {"std", data.std}}},
      {"compression", {{"method", method}, {"settings", settings}}},
      {"metrics", metrics}};
  if (widths) model["inner_widths"] = widths->to_json();
  if (!before.is_null()) model["compression"]["before"] = before;
  std::ofstream(fs::path(staging) / "architecture.json") << model.dump(2) << "\n";
  std::ofstream(fs::path(staging) / "metrics.json") << metrics.dump(2) << "\n";

  if (fs::exists(out_dir)) fs::remove_all(out_dir);  // a finished run's folder is replaced
  fs::rename(staging_path, out_dir);

  store::CompressionRow row;
  row.experiment_id = source.row.id;
  row.parent_ordinal = parent.ordinal;
  row.method = method;
  row.settings = settings;
  row.params = result.parameter_count();
  row.flops = result.flops();
  row.model_bytes = quant ? quant->int8_bytes() : fp32_bytes;
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
  out << std::fixed << std::setprecision(3) << ", " << latency << " ms/image on CPU"
      << (quant ? " (LibTorch, fake-quant)" : "") << ", " << row.model_bytes << " bytes"
      << (quant ? " int8" : "") << "\n";
  if (portable.onnx.written) out << "ONNX: model.onnx (" << portable.onnx.message << ")\n";
  if (!onnx_runtime.is_null()) {
    const auto& q = onnx_runtime["int8"];
    out << "ONNX Runtime int8 (model_int8.onnx, " << q["quantized_kernels"].get<int>()
        << " integer kernels): acc " << percent(q["accuracy"].get<double>()) << ", "
        << std::setprecision(3) << q["latency_ms_batch1"].get<double>() << " ms at batch 1, "
        << q["latency_ms_batch64"].get<double>() << " ms at batch 64\n";
    if (onnx_runtime.contains("fp32")) {
      const auto& f = onnx_runtime["fp32"];
      out << "ONNX Runtime fp32 (model.onnx): acc " << percent(f["accuracy"].get<double>()) << ", "
          << f["latency_ms_batch1"].get<double>() << " ms at batch 1, "
          << f["latency_ms_batch64"].get<double>() << " ms at batch 64; int8 speed-up "
          << std::setprecision(2) << onnx_runtime["speedup_batch1"].get<double>() << "x / "
          << onnx_runtime["speedup_batch64"].get<double>() << "x\n";
    }
  }
}

}  // namespace nasforge::app
