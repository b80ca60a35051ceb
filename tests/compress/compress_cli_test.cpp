// `nasforge compress` through the real binary: a tiny search on the synthetic set, then pruning
// and distillation of its best trial, the files and the recorded row, and bad input.
#include "tests/nasforge_catch.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "store/sqlite_store.h"
#include "tests/export/export_helpers.h"
#include "tests/search/cli_helpers.h"

using namespace nasforge;
using namespace nasforge::testing;
namespace fs = std::filesystem;

namespace {

nlohmann::json synthetic_experiment(int classes = 0) {
  auto j = nlohmann::json::parse(R"({
    "name": "compress", "seed": 3, "budget": {"trials": 2},
    "space": {"type": "blocks", "stem_width": 8, "stages": [
      {"block": ["basic"], "depth": [1], "width": [16], "kernel": [3]},
      {"block": ["bottleneck", "dense"], "depth": [1, 2], "width": [32], "growth_rate": [8]}]},
    "controller": {"type": "random"},
    "dataset": {"name": "synthetic", "format": "synthetic", "validation_fraction": 0.2},
    "training": {"epochs": 1, "batch_size": 64, "learning_rate": 0.05, "device": "cpu",
                 "threads": 1}})");
  if (classes > 0) j["dataset"]["num_classes"] = classes;
  return j;
}

std::string searched(const TempDir& dir, const std::string& name, int classes = 0) {
  const auto db = dir.file(name + ".db");
  const auto config = write_json(dir, name + ".json", synthetic_experiment(classes));
  const auto run = run_cli("run " + config + " --db " + db + " --quiet");
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  return db;
}

std::vector<store::CompressionRow> rows(const std::string& db) {
  auto store = store::SqliteStore::open(db);
  return store.compressions(store.experiment().id);
}

}  // namespace

TEST_CASE("compress prunes and distils the best trial, writes the export files and records it",
          "[compress]") {
  TempDir dir("compress-cli");
  const auto db = searched(dir, "search");
  std::int64_t best_params = 0, best_ordinal = 0;
  {
    auto store = store::SqliteStore::open(db);
    const auto best = store.best_trial(store.experiment().id);
    REQUIRE(best);
    best_params = best->result.params;
    best_ordinal = best->ordinal;
  }
  const auto out = dir.file("pruned");
  const auto run = run_cli("compress --db " + db + " --out " + out +
                           " --prune-ratio 0.5 --epochs 1 --onnx off --quiet");
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  for (const char* file :
       {"architecture.json", "weights.pt", "metrics.json", "model.py", "model.safetensors"}) {
    CHECK(fs::exists(fs::path(out) / file));
  }
  auto r = rows(db);
  REQUIRE(r.size() == 1);
  CHECK(r[0].method == "prune");
  CHECK(r[0].parent_ordinal == best_ordinal);
  CHECK(r[0].params < best_params);
  CHECK(r[0].model_bytes ==
        static_cast<std::int64_t>(fs::file_size(fs::path(out) / "model.safetensors")));
  CHECK(r[0].latency_ms > 0);
  CHECK(r[0].test_accuracy);
  std::ifstream in(fs::path(out) / "architecture.json");
  const auto model = nlohmann::json::parse(in);
  CHECK(model.contains("inner_widths"));
  CHECK(model.at("params") == r[0].params);
  CHECK(model.at("compression").at("before").at("flops").get<std::int64_t>() >= 2 * r[0].flops);
  CHECK(model.at("compression").at("before").at("params") == best_params);
  CHECK(model.at("compression").at("before").at("latency_ms").get<double>() > 0);
  CHECK(model.at("compression").at("before").contains("test_accuracy"));
  // The compressed model loads again like an exported one.
  const auto evaluated = run_cli("evaluate --model " + out + " --split validation --quiet");
  INFO(evaluated.output);
  CHECK(evaluated.exit_code == 0);
  // Prune, then distil from the best trial; `status` lists both runs.
  const auto both = run_cli("compress --db " + db + " --trial " + std::to_string(best_ordinal) +
                            " --out " + dir.file("both") +
                            " --method prune,distill --prune-ratio 0.3 --prune-target params "
                            "--ranking bn --teacher best --alpha 0.5 --temperature 2 --onnx off "
                            "--quiet");
  INFO(both.output);
  REQUIRE(both.exit_code == 0);
  r = rows(db);
  REQUIRE(r.size() == 2);
  CHECK(r[1].method == "prune+distill");
  CHECK(r[1].settings.at("teacher") == best_ordinal);
  CHECK(r[1].settings.at("alpha") == 0.5);
  const auto status = run_cli("status --db " + db);
  CHECK(status.output.find("compressions:") != std::string::npos);
  CHECK(status.output.find("prune+distill") != std::string::npos);
}

TEST_CASE("compress refuses bad input in one line, exit 2, and records nothing", "[compress]") {
  TempDir dir("compress-bad");
  const auto db = searched(dir, "search");
  const auto other = searched(dir, "other", 6);  // 6 classes declared: a teacher that does not fit
  const auto out = dir.file("out");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--prune-ratio 1.5", "--prune-ratio"},
      {"--prune-ratio 0", "--prune-ratio"},
      {"--method quantize", "unknown method 'quantize'"},
      {"--method distill,prune", "prune,distill"},
      {"--trial 99", "no such trial"},
      {"--ranking l2", "unknown ranking"},
      {"--sparsity 0.1", "--ranking bn"},
      {"--method distill --teacher-db " + other, "teacher has 6 classes"},
      {"--method distill --alpha 2", "--alpha"},
      {"--method ptq --calibration-batches 0", "--calibration-batches 0"},
      {"--method prune,qat --calibration-batches 0", "--calibration-batches 0"},
      {"--method qat,prune", "prune, distill, then one of ptq or qat"},
      {"--method ptq,qat", "prune, distill, then one of ptq or qat"},
      {"--method ptq --weight-range 200", "--weight-range"},
  };
  for (const auto& [flags, message] : cases) {
    const auto run =
        run_cli("compress --db " + db + " --out " + out + " --onnx off --quiet " + flags);
    INFO(flags << ": " << run.output);
    CHECK(run.exit_code == 2);
    CHECK(run.output.find(message) != std::string::npos);
    CHECK(std::count(run.output.begin(), run.output.end(), '\n') == 1);
  }
  CHECK(rows(db).empty());
  auto store = store::SqliteStore::open(db);
  CHECK(store.trials(store.experiment().id).size() == 2);

  // A benchmark-table trial has no weights.
  auto nb201 = nlohmann::json::parse(R"({"name": "nb", "seed": 1, "budget": {"trials": 2},
    "space": {"type": "nb201"}, "controller": {"type": "random"},
    "evaluator": {"type": "nb201-table", "column": "cifar10_valid"}})");
  nb201["evaluator"]["path"] = nb201_table_path();
  const auto nb_db = dir.file("nb.db");
  REQUIRE(run_cli("run " + write_json(dir, "nb.json", nb201) + " --db " + nb_db + " --quiet")
              .exit_code == 0);
  const auto run = run_cli("compress --db " + nb_db + " --out " + out + " --method distill");
  INFO(run.output);
  CHECK(run.exit_code == 2);
  CHECK(run.output.find("no weights") != std::string::npos);
  CHECK(rows(nb_db).empty());
}

TEST_CASE("compress ptq and prune,qat write model_int8.onnx, measure it and record the int8 size",
          "[compress]") {
  TempDir dir("compress-quant");
  const auto db = searched(dir, "search");
  const auto ptq = dir.file("ptq");
  const auto run = run_cli("compress --db " + db + " --out " + ptq +
                           " --method ptq --calibration-batches 2 --quiet");
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  auto r = rows(db);
  REQUIRE(r.size() == 1);
  CHECK(r[0].method == "ptq");
  std::ifstream in(fs::path(ptq) / "architecture.json");
  const auto model = nlohmann::json::parse(in);
  const auto& q = model.at("compression").at("settings").at("quantization");
  CHECK(q.at("calibration_batches") == 2);
  // int8 weights: about a quarter of the fp32 safetensors (which also hold BatchNorm).
  CHECK(r[0].model_bytes == q.at("int8_bytes").get<std::int64_t>());
  CHECK(r[0].model_bytes * 3 < q.at("fp32_bytes").get<std::int64_t>());
  CHECK(r[0].test_accuracy);
  CHECK(fs::exists(fs::path(ptq) / "quant_graph.json"));
  if (python_available()) {
    CHECK(fs::exists(fs::path(ptq) / "model_int8.onnx"));
    const auto& ort = model.at("compression").at("settings").at("onnx_runtime");
    CHECK(ort.at("int8").at("quantized_kernels").get<int>() > 0);
    CHECK(ort.at("int8").at("latency_ms_batch64").get<double>() > 0);
    CHECK(ort.at("fp32").at("latency_ms_batch1").get<double>() > 0);
    // The int8 model in ONNX Runtime and the fake-quant network agree on the test accuracy.
    CHECK(std::abs(ort.at("int8").at("accuracy").get<double>() - *r[0].test_accuracy) <= 0.02);
  }
  const auto both = run_cli("compress --db " + db + " --out " + dir.file("pq") +
                            " --method prune,qat --calibration-batches 2 --qat-epochs 1 "
                            "--onnx off --quiet");
  INFO(both.output);
  REQUIRE(both.exit_code == 0);
  r = rows(db);
  REQUIRE(r.size() == 2);
  CHECK(r[1].method == "prune+qat");
  CHECK(r[1].settings.at("quantization").at("epochs") == 1);
  CHECK(r[1].params < r[0].params);
}

TEST_CASE("an interrupted compression leaves no row and no folder, and the next run starts over",
          "[compress]") {
  TempDir dir("compress-interrupted");
  const auto db = searched(dir, "search");
  const auto out = dir.file("pruned");
  const auto flags = " --db " + db + " --out " + out + " --prune-ratio 0.5 --onnx off --quiet";
  // Killed while fine-tuning (200 epochs take far longer than 3 s here).
  const auto killed = std::system(("timeout -s KILL 3 " + std::string(NASFORGE_BINARY) +
                                   " compress" + flags + " --epochs 200 > /dev/null 2>&1")
                                      .c_str());
  CHECK(killed != 0);
  CHECK(rows(db).empty());
  CHECK_FALSE(fs::exists(out));
  // What a run killed while writing its files would have left.
  fs::create_directories(out + ".partial");
  std::ofstream(out + ".partial/weights.pt") << "half a file";
  const auto run = run_cli("compress" + flags + " --epochs 1");
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  CHECK_FALSE(fs::exists(out + ".partial"));
  CHECK(fs::exists(fs::path(out) / "architecture.json"));
  CHECK(fs::file_size(fs::path(out) / "weights.pt") > 100);
  const auto r = rows(db);
  REQUIRE(r.size() == 1);
  CHECK(r[0].out_dir == fs::absolute(out).string());
  // A folder that is not a compression's is never replaced: refused before any training.
  const auto other = dir.file("my-files");
  fs::create_directories(other);
  std::ofstream(other + "/notes.txt") << "mine";
  const auto refused = run_cli("compress --db " + db + " --out " + other + " --epochs 1 --quiet");
  CHECK(refused.exit_code == 2);
  CHECK_THAT(refused.output, Catch::Contains("an earlier compression did not write"));
  CHECK(fs::exists(other + "/notes.txt"));
  CHECK(rows(db).size() == 1);
}
