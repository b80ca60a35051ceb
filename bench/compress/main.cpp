// The network a search found, uncompressed and compressed by each method and combination
// (prune, distill, prune+distill, ptq, qat, prune+qat), each run through `nasforge compress`:
// parameters, FLOPs, model bytes (fp32 safetensors, or the int8 model's bytes), test accuracy in
// LibTorch (the fake-quant network for ptq/qat) and in ONNX Runtime, and ONNX Runtime CPU latency
// at batch 1 and 64 of model.onnx (fp32) and model_int8.onnx, all measured in one ONNX Runtime
// run, one after the other. Then distillation against the same student without a teacher: the
// pruned network fine-tuned with (prune,distill) and without (prune) the teacher, paired by seed.
//
// Without --db, the quickstart search (experiments/quickstart.json) runs first.
//
//   compress_bench [--db PATH] [--trial N|best] [--config FILE] [--epochs E] [--distill-epochs E]
//                  [--qat-epochs E] [--seeds N] [--calibration-batches N] [--ort-threads N]
//                  [--tmp DIR]
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "app/cli.h"
#include "bench/common/bench_cli.h"
#include "bench/common/bench_util.h"
#include "export/python_runner.h"
#include "export/qdq_onnx.h"
#include "export/safetensors.h"
#include "search/experiment.h"
#include "store/sqlite_store.h"
#include "trainer/dataset.h"

namespace {

using namespace nasforge;
namespace fs = std::filesystem;
using nlohmann::json;

struct Options {
  std::string db;
  std::string trial = "best";
  std::string config = NASFORGE_SOURCE_DIR "/experiments/quickstart.json";
  int epochs = 1;          // fine-tuning after pruning
  int distill_epochs = 3;  // distillation alone trains the architecture from scratch
  int qat_epochs = 1;
  int seeds = 3;
  int calibration_batches = 32;
  int ort_threads = 1;
  double prune_ratio = 0.5;
  std::string tmp = (fs::temp_directory_path() / "nasforge-compress-bench").string();
};

void add_flags(CLI::App& app, Options& o) {
  app.add_option("--db", o.db, "a searched database (default: run the quickstart search)");
  app.add_option("--trial", o.trial, "the trial to compress")->capture_default_str();
  app.add_option("--config", o.config, "the search to run without --db")->capture_default_str();
  bench::add_positive(app, "--epochs", o.epochs, "fine-tuning epochs after pruning");
  bench::add_positive(app, "--distill-epochs", o.distill_epochs,
                      "epochs of distillation from scratch");
  bench::add_positive(app, "--qat-epochs", o.qat_epochs, "quantization-aware training epochs");
  bench::add_positive(app, "--seeds", o.seeds, "seeds of the distillation comparison");
  bench::add_positive(app, "--calibration-batches", o.calibration_batches,
                      "training batches of calibration");
  bench::add_positive(app, "--ort-threads", o.ort_threads, "ONNX Runtime intra-op threads");
  bench::add_positive(app, "--prune-ratio", o.prune_ratio, "share of the FLOPs pruned");
  app.add_option("--tmp", o.tmp, "working folder (emptied first)")->capture_default_str();
}

// `nasforge compress ...` in process; returns the architecture.json it wrote.
json compress(const Options& o, const std::string& db, const std::string& out,
              const std::string& methods, int seed) {
  std::vector<std::string> args = {
      "nasforge",
      "compress",
      "--db",
      db,
      "--trial",
      o.trial,
      "--out",
      out,
      "--method",
      methods,
      "--prune-ratio",
      std::to_string(o.prune_ratio),
      "--epochs",
      std::to_string(methods == "distill" ? o.distill_epochs : o.epochs),
      "--qat-epochs",
      std::to_string(o.qat_epochs),
      "--calibration-batches",
      std::to_string(o.calibration_batches),
      "--ort-threads",
      std::to_string(o.ort_threads),
      "--seed",
      std::to_string(seed),
      "--onnx",
      "required",
      "--quiet"};
  std::vector<const char*> argv;
  for (const auto& a : args) argv.push_back(a.c_str());
  std::ostringstream text;
  const int code = app::run_command_line(static_cast<int>(argv.size()), argv.data(), text);
  std::cout << "  " << methods << " (seed " << seed
            << "): " << text.str().substr(0, text.str().find('\n')) << std::endl;
  if (code != 0) throw Error("compress " + methods + " exited with " + std::to_string(code));
  std::ifstream in(fs::path(out) / "architecture.json");
  return json::parse(in);
}

std::string fixed(double v, int digits) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(digits) << v;
  return s.str();
}

int run(const Options& o) {
  fs::remove_all(o.tmp);
  fs::create_directories(o.tmp);
  std::string db = o.db;
  if (db.empty()) {
    db = (fs::path(o.tmp) / "search.db").string();
    std::cout << "searching: " << o.config << std::endl;
    std::vector<const char*> argv = {"nasforge", "run",      o.config.c_str(),
                                     "--db",     db.c_str(), "--quiet"};
    std::ostringstream text;
    if (app::run_command_line(static_cast<int>(argv.size()), argv.data(), text) != 0) {
      throw Error("the search failed: " + text.str());
    }
  }
  const std::vector<std::string> methods = {"ptq",           "prune", "distill",
                                            "prune,distill", "qat",   "prune,qat"};
  std::map<std::string, json> results;
  std::cout << "compressing trial " << o.trial << " of " << db << std::endl;
  for (const auto& m : methods) {
    auto dir = m;
    std::replace(dir.begin(), dir.end(), ',', '+');
    results[m] = compress(o, db, (fs::path(o.tmp) / dir).string(), m, 1);
    results[m]["dir"] = (fs::path(o.tmp) / dir).string();
  }

  // One ONNX Runtime run over every model, on the test set.
  auto store = store::SqliteStore::open(db);
  const auto experiment = search::Experiment::from_json(store.experiment().config, db);
  const auto data = trainer::load_splits(experiment.dataset);
  const auto data_path = (fs::path(o.tmp) / "test.safetensors").string();
  exporter::write_safetensors(data_path, {{"images", data.test.images.contiguous()},
                                          {"labels", data.test.labels.to(at::kLong)}});
  std::vector<std::string> models;
  // The uncompressed network's model.onnx is the ptq run's fp32 reference.
  for (const auto& m : methods) {
    models.push_back((fs::path(results[m]["dir"].get<std::string>()) / "model.onnx").string());
    if (m.find("qat") != std::string::npos || m == "ptq") {
      models.push_back(
          (fs::path(results[m]["dir"].get<std::string>()) / "model_int8.onnx").string());
    }
  }
  exporter::OrtOptions ort_options;
  ort_options.data = data_path;
  ort_options.threads = o.ort_threads;
  ort_options.seconds_per_measure = 2.0;
  std::cout << "ONNX Runtime: " << models.size() << " models, " << o.ort_threads << " thread(s)"
            << std::endl;
  const auto report = exporter::run_onnx_runtime(models, ort_options, exporter::default_python());
  if (!report.ran) throw Error("ONNX Runtime: " + report.message);
  std::map<std::string, exporter::OrtModelFigures> ort;
  for (const auto& f : report.models) ort[f.path] = f;

  struct Row {
    std::string name;
    std::int64_t params, flops, bytes;
    double test_accuracy;
    exporter::OrtModelFigures figures;
    std::string kind;
  };
  std::vector<Row> rows;
  const auto& base = results["ptq"];
  const auto base_dir = fs::path(base["dir"].get<std::string>());
  const auto& before = base["compression"]["before"];
  rows.push_back({"uncompressed", before["params"].get<std::int64_t>(),
                  before["flops"].get<std::int64_t>(),
                  static_cast<std::int64_t>(fs::file_size(base_dir / "model.safetensors")),
                  before["test_accuracy"].get<double>(),
                  ort.at(fs::absolute(base_dir / "model.onnx").string()), "fp32"});
  for (const auto& m : methods) {
    const auto& r = results[m];
    const auto dir = fs::path(r["dir"].get<std::string>());
    const bool quantized = r["compression"]["settings"].contains("quantization");
    rows.push_back(
        {m, r["params"].get<std::int64_t>(), r["flops"].get<std::int64_t>(),
         quantized ? r["metrics"]["int8_bytes"].get<std::int64_t>()
                   : static_cast<std::int64_t>(fs::file_size(dir / "model.safetensors")),
         r["metrics"]["test_accuracy"].get<double>(),
         ort.at(fs::absolute(dir / (quantized ? "model_int8.onnx" : "model.onnx")).string()),
         quantized ? "int8" : "fp32"});
  }
  const auto& ref = rows.front();
  std::cout << "\n| method | weights | params | FLOPs | model bytes | size ratio | test acc "
               "(LibTorch) | test acc (ORT) | ORT ms batch 1 | ORT ms batch 64 | speed-up b1 | "
               "speed-up b64 |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n";
  for (const auto& r : rows) {
    std::cout << "| " << r.name << " | " << r.kind << " | " << r.params << " | " << r.flops << " | "
              << r.bytes << " | " << fixed(double(ref.bytes) / r.bytes, 2) << "x | "
              << fixed(100 * r.test_accuracy, 2) << " | " << fixed(100 * r.figures.accuracy, 2)
              << " | " << fixed(r.figures.latency_ms_batch1, 3) << " | "
              << fixed(r.figures.latency_ms_batch64, 2) << " | "
              << fixed(ref.figures.latency_ms_batch1 / r.figures.latency_ms_batch1, 2) << "x | "
              << fixed(ref.figures.latency_ms_batch64 / r.figures.latency_ms_batch64, 2) << "x |\n";
  }
  // int8 against its own fp32 network (same weights before quantization).
  std::cout << "\nint8 against its own fp32 network in ONNX Runtime:\n";
  for (const auto& m : methods) {
    const auto& r = results[m];
    if (!r["compression"]["settings"].contains("onnx_runtime")) continue;
    const auto dir = fs::path(r["dir"].get<std::string>());
    const auto& f = ort.at(fs::absolute(dir / "model.onnx").string());
    const auto& q = ort.at(fs::absolute(dir / "model_int8.onnx").string());
    const auto& s = r["compression"]["settings"]["quantization"];
    std::cout << "  " << m << ": test acc fp32 " << fixed(100 * f.accuracy, 2) << " -> int8 "
              << fixed(100 * q.accuracy, 2) << " (LibTorch fake-quant "
              << fixed(100 * r["metrics"]["test_accuracy"].get<double>(), 2) << "), bytes "
              << s["fp32_bytes"] << " -> " << s["int8_bytes"] << " ("
              << fixed(s["fp32_bytes"].get<double>() / s["int8_bytes"].get<double>(), 2)
              << "x; folded fp32 " << s["fp32_folded_bytes"] << ", "
              << fixed(s["fp32_folded_bytes"].get<double>() / s["int8_bytes"].get<double>(), 2)
              << "x), latency b1 " << fixed(f.latency_ms_batch1 / q.latency_ms_batch1, 2)
              << "x, b64 " << fixed(f.latency_ms_batch64 / q.latency_ms_batch64, 2) << "x faster; "
              << q.quantized_kernels << " integer kernels, " << q.float_convs << " float convs\n";
  }

  // Distillation against the same student without a teacher, paired by seed.
  std::cout << "\npruned student fine-tuned " << o.epochs
            << " epoch(s), with (prune,distill) and without (prune) the teacher:\n";
  std::vector<double> with, without, difference;
  for (int seed = 1; seed <= o.seeds; ++seed) {
    json a, b;
    if (seed == 1) {
      a = results["prune,distill"];
      b = results["prune"];
    } else {
      a = compress(o, db, (fs::path(o.tmp) / ("pd" + std::to_string(seed))).string(),
                   "prune,distill", seed);
      b = compress(o, db, (fs::path(o.tmp) / ("p" + std::to_string(seed))).string(), "prune", seed);
    }
    with.push_back(100 * a["metrics"]["test_accuracy"].get<double>());
    without.push_back(100 * b["metrics"]["test_accuracy"].get<double>());
    difference.push_back(with.back() - without.back());
    std::cout << "  seed " << seed << ": with teacher " << fixed(with.back(), 2) << ", without "
              << fixed(without.back(), 2) << ", difference " << fixed(difference.back(), 2) << "\n";
  }
  std::cout << "  mean: with " << fixed(bench::mean(with), 2) << " (sd "
            << fixed(bench::stddev(with), 2) << "), without " << fixed(bench::mean(without), 2)
            << " (sd " << fixed(bench::stddev(without), 2) << "), paired difference "
            << fixed(bench::mean(difference), 2) << " (sd " << fixed(bench::stddev(difference), 2)
            << ")" << std::endl;
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  return nasforge::bench::run_main<Options>(
      argc, argv, "compress_bench",
      "The found network against pruning, distillation, int8 ptq/qat and their combinations",
      add_flags, run);
}
