// A trained network leaves nasforge: `nasforge export` writes model.py, model.safetensors and
// model.onnx, and Python (the cached torch, onnx and ONNX Runtime; no nasforge) reproduces the
// C++ network's logits on 64 test images.
#include "tests/nasforge_catch.h"

#include <ATen/ATen.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "export/portable_model.h"
#include "export/safetensors.h"
#include "space/block_space.h"
#include "space/modules/network.h"
#include "space/nb201_space.h"
#include "tests/export/export_helpers.h"
#include "tests/search/cli_helpers.h"
#include "trainer/dataset.h"
#include "trainer/torch_evaluator.h"
#include "trainer/training_loop.h"

namespace fs = std::filesystem;
using namespace nasforge;
using nasforge::testing::TempDir;

namespace {

constexpr double kTolerance = 1e-4;
constexpr std::int64_t kImages = 64;

std::string read_text(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// A real search on the synthetic set (1 trial, 1 epoch) whose network has a basic stage with a
// projection and an identity shortcut, a strided bottleneck stage and a downsampling dense
// stage. Returns the database.
std::string run_tiny_search(const TempDir& dir) {
  auto experiment = nlohmann::json::parse(R"({
    "name": "export-blocks", "seed": 3,
    "space": {"type": "blocks", "stem_width": 8, "stages": [
      {"block": ["basic"], "depth": [2], "width": [12]},
      {"block": ["bottleneck"], "depth": [1], "width": [16]},
      {"block": ["dense"], "depth": [2], "width": [12], "growth_rate": [4]}]},
    "controller": {"type": "random"},
    "dataset": {"name": "synthetic"},
    "budget": {"trials": 1},
    "training": {"epochs": 1, "batch_size": 32, "learning_rate": 0.1, "device": "cpu",
                 "threads": 1}})");
  const auto config = testing::write_json(dir, "experiment.json", experiment);
  const auto db = dir.file("search.db");
  const auto run = testing::run_cli("run " + config + " --db " + db + " --quiet");
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  return db;
}

// The search above, exported through the CLI and checked in Python once per process.
struct BlockExport {
  TempDir dir{"export-blocks"};
  std::string export_output;
  int export_exit = -1;
  nlohmann::json check;
};

const BlockExport& block_export() {
  static const auto result = [] {
    auto r = std::make_unique<BlockExport>();
    const auto db = run_tiny_search(r->dir);
    const auto out = r->dir.file("best");
    const auto exported =
        testing::run_cli("export --db " + db + " --out " + out + " --onnx required");
    r->export_output = exported.output;
    r->export_exit = exported.exit_code;
    INFO(exported.output);
    REQUIRE(exported.exit_code == 0);

    // The C++ side: the exported weights.pt in nasforge's own network, on the first test images.
    const auto model = nlohmann::json::parse(read_text(fs::path(out) / "architecture.json"));
    const auto space = space::make_search_space(model.at("space"));
    const auto arch = space->from_json(model.at("architecture"));
    const auto data =
        trainer::load_splits(trainer::DatasetSpec::from_json(model.at("dataset"), "dataset"));
    auto network = space::build_network(*space, arch, data.shape, data.num_classes);
    trainer::load_weights(*network, (fs::path(out) / "weights.pt").string());
    const auto images = data.test.images.narrow(0, 0, kImages);
    const auto labels = data.test.labels.narrow(0, 0, kImages);
    const auto logits = testing::cpp_logits(*network, images, data.mean, data.std);
    r->check =
        testing::check_in_python(out, r->dir.file("reference.safetensors"), images, labels, logits);
    return r;
  }();
  return *result;
}

}  // namespace

TEST_CASE(
    "a block network exported by the CLI reproduces the C++ logits in PyTorch and ONNX "
    "Runtime",
    "[export]") {
  NASFORGE_REQUIRE_PYTHON();
  const auto& e = block_export();
  const auto& check = e.check;
  const fs::path out = e.dir.path / "best";
  INFO(check.dump());

  SECTION("model.py, model.safetensors and model.onnx lie beside the nasforge files") {
    for (const char* name : {"architecture.json", "weights.pt", "metrics.json", "model.py",
                             "model.safetensors", "model.onnx"}) {
      INFO(name);
      CHECK(fs::is_regular_file(out / name));
    }
    CHECK_FALSE(fs::exists(out / "__pycache__"));  // Python ran with -B
    CHECK(e.export_output.find("ONNX: model.onnx (opset 17, onnx.checker passed") !=
          std::string::npos);
    // Self-contained: model.py imports torch and the standard library only.
    const auto source = read_text(out / "model.py");
    CHECK(source.find("nasforge import") == std::string::npos);
    CHECK(source.find("import nasforge") == std::string::npos);
    for (const char* cls : {"class BasicBlock", "class BottleneckBlock", "class DenseStage",
                            "class Projection", "class Network", "def load("}) {
      INFO(cls);
      CHECK(source.find(cls) != std::string::npos);
    }
    // BatchNorm running statistics travel with the weights, trained (not the initial 0 and 1).
    const auto weights = exporter::read_safetensors((out / "model.safetensors").string());
    bool saw_running_var = false;
    for (const auto& [name, tensor] : weights.tensors) {
      if (name == "stage1_block0.bn2.running_var") {
        saw_running_var = true;
        CHECK_FALSE(at::allclose(tensor, at::ones_like(tensor)));
      }
      if (name == "stem_bn.num_batches_tracked") CHECK(tensor.item<std::int64_t>() > 0);
    }
    CHECK(saw_running_var);
    CHECK(check.at("weights").get<std::size_t>() == weights.tensors.size());
    // When the safetensors package is installed, it reads the same tensors.
    CHECK(check.value("safetensors_package_agrees", true));
  }

  SECTION("PyTorch: model.load() and the 64 test images give the C++ logits") {
    CHECK_FALSE(check.at("training").get<bool>());  // load() returns the module in eval mode
    CHECK(check.at("torch_max_abs_diff").get<double>() < kTolerance);
    CHECK(check.at("torch_same_predictions").get<bool>());
    CHECK(check.at("torch_accuracy").get<double>() == check.at("reference_accuracy").get<double>());
  }

  SECTION("ONNX Runtime: model.onnx passes onnx.checker and runs any batch size") {
    CHECK(check.at("onnx_opset").get<int>() >= 17);
    CHECK(check.at("onnx_batch_sizes") == nlohmann::json::array({kImages, 5}));
    CHECK(check.at("onnx_max_abs_diff").get<double>() < kTolerance);
    CHECK(check.at("onnx_same_predictions").get<bool>());
    CHECK(check.at("onnx_accuracy").get<double>() == check.at("reference_accuracy").get<double>());
  }
}

namespace {

// A learnable 3-channel set: each class brightens one channel and one quadrant.
trainer::Dataset coloured_blobs(std::int64_t count, int classes, std::uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto labels = at::randint(classes, {count}, gen, at::kLong);
  auto images = at::rand({count, 3, 16, 16}, gen) * 80;
  for (std::int64_t i = 0; i < count; ++i) {
    const auto k = labels[i].item<std::int64_t>();
    images[i][k % 3] += 100;
    images[i].narrow(1, (k / 2 % 2) * 8, 8).narrow(2, (k % 2) * 8, 8) += 60;
  }
  return {images.clamp(0, 255).to(at::kByte), labels};
}

}  // namespace

TEST_CASE("a trained NAS-Bench-201 network exports and matches in PyTorch and ONNX Runtime",
          "[export]") {
  NASFORGE_REQUIRE_PYTHON();
  // Every operation, and a node whose only input is "none" (read as zeros) feeding a convolution.
  const space::Nb201Space space(
      nlohmann::json{{"type", "nb201"}, {"channels", 4}, {"cells_per_stage", 1}});
  const auto arch = space.parse(
      "|none~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|");
  trainer::DataSplits data;
  data.train = coloured_blobs(256, 5, 1);
  data.validation = coloured_blobs(64, 5, 2);
  data.test = coloured_blobs(kImages, 5, 3);
  data.num_classes = 5;
  data.shape = {3, 16, 16};
  const auto pixels = data.train.images.to(at::kFloat) / 255;
  for (int c = 0; c < 3; ++c) {
    data.mean.push_back(pixels.select(1, c).mean().item<float>());
    data.std.push_back(pixels.select(1, c).std().item<float>());
  }
  auto network = space::build_network(space, arch, data.shape, data.num_classes);
  trainer::TrainConfig config;
  config.epochs = 1;
  config.batch_size = 32;
  config.device = "cpu";
  {
    trainer::TrainingSession session(*network, data, config, c10::Device(c10::kCPU), 11);
    session.run_epoch();
  }

  TempDir dir("export-nb201");
  const auto out = dir.file("best");
  const auto report = exporter::write_portable_model(
      space, arch, *network, {data.shape, data.num_classes, data.mean, data.std, {}}, out,
      exporter::OnnxMode::kRequired);
  INFO(report.onnx.message);
  CHECK(report.onnx.written);
  CHECK(report.onnx.max_abs_difference >= 0);
  CHECK(report.onnx.max_abs_difference < kTolerance);

  const auto logits = testing::cpp_logits(*network, data.test.images, data.mean, data.std);
  const auto check = testing::check_in_python(out, dir.file("reference.safetensors"),
                                              data.test.images, data.test.labels, logits);
  INFO(check.dump());
  CHECK(check.at("torch_max_abs_diff").get<double>() < kTolerance);
  CHECK(check.at("torch_same_predictions").get<bool>());
  CHECK(check.at("torch_accuracy").get<double>() == check.at("reference_accuracy").get<double>());
  CHECK(check.at("onnx_max_abs_diff").get<double>() < kTolerance);
  CHECK(check.at("onnx_same_predictions").get<bool>());
  CHECK(check.at("onnx_batch_sizes") == nlohmann::json::array({kImages, 5}));
}

TEST_CASE("without a usable Python, export writes everything else and warns in one line",
          "[export]") {
  TempDir dir("export-no-python");
  const auto db = run_tiny_search(dir);
  const auto out = dir.file("auto");
  ::setenv("NASFORGE_PYTHON", "/nonexistent/python3", 1);
  const auto run = testing::run_cli("export --db " + db + " --out " + out);
  const auto required =
      testing::run_cli("export --db " + db + " --out " + dir.file("required") + " --onnx required");
  ::unsetenv("NASFORGE_PYTHON");
  INFO(run.output);
  CHECK(run.exit_code == 0);
  for (const char* name : {"architecture.json", "weights.pt", "model.py", "model.safetensors"}) {
    CHECK(fs::is_regular_file(fs::path(out) / name));
  }
  CHECK_FALSE(fs::exists(fs::path(out) / "model.onnx"));
  const std::string warning = "model.onnx not written: /nonexistent/python3: not found";
  const auto at = run.output.find(warning);
  CHECK(at != std::string::npos);
  CHECK(run.output.find(warning, at + 1) == std::string::npos);  // one line
  INFO(required.output);
  CHECK(required.exit_code == 2);
  CHECK(required.output.find("error: model.onnx not written") != std::string::npos);
}
