// model.py's source, without running Python: what each space's generator emits.
#include "tests/nasforge_catch.h"

#include <ATen/ATen.h>

#include <filesystem>

#include "common/errors.h"
#include "export/module_source_parts.h"
#include "export/portable_model.h"
#include "export/pytorch_module.h"
#include "tests/search/cli_helpers.h"

using namespace nasforge;

namespace {

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("model.py for blocks has the classes the architecture uses, with its shapes",
          "[export]") {
  const space::BlockSpace space(nlohmann::json::parse(R"({"type": "blocks", "stem_width": 8,
    "stages": [{"block": ["basic"], "depth": [2], "width": [8]},
               {"block": ["basic"], "depth": [1], "width": [16], "kernel": [5]}]})"));
  const auto arch = space.make(std::vector<int>(10, 0));
  const auto source = exporter::pytorch_module_source(
      space, arch,
      {{3, 32, 32},
       10,
       {0.5f, 0.25f, 0.125f},
       {0.2f, 0.3f, 0.4f},
       {"plane", "car", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"}});
  CHECK(contains(source, "class BasicBlock"));
  CHECK_FALSE(contains(source, "class BottleneckBlock"));
  CHECK_FALSE(contains(source, "class DenseStage"));
  CHECK(contains(source, "self.stem = conv(3, 8, 3)"));
  CHECK(contains(source, "self.stage0_block0 = BasicBlock(8, 8, kernel=3, stride=1)"));
  CHECK(contains(source, "self.stage0_block1 = BasicBlock(8, 8, kernel=3, stride=1)"));
  CHECK(contains(source, "self.stage1_block0 = BasicBlock(8, 16, kernel=5, stride=2)"));
  CHECK(contains(source, "self.head = nn.Linear(16, NUM_CLASSES)"));
  CHECK(contains(source, "INPUT_SHAPE = (3, 32, 32)"));
  CHECK(contains(source, "NUM_CLASSES = 10"));
  CHECK(contains(source, "MEAN = (0.5, 0.25, 0.125)"));
  CHECK(contains(source, "CLASSES = (\"plane\", \"car\", \"bird\""));
  CHECK(contains(source, "ARCHITECTURE = \"" + arch.canonical() + "\""));
  CHECK_FALSE(contains(source, "nasforge import"));
}

TEST_CASE("model.py for NAS-Bench-201 sums each node's edges and reads a dead node as zeros",
          "[export]") {
  const space::Nb201Space space(
      nlohmann::json{{"type", "nb201"}, {"channels", 8}, {"cells_per_stage", 2}});
  const auto arch = space.parse(
      "|none~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|");
  const auto source =
      exporter::pytorch_module_source(space, arch, {{1, 28, 28}, 10, {0.3f}, {0.4f}, {}});
  CHECK(contains(source, "self.edge2 = ReluConvBn(channels, channels, 1, 1)"));
  CHECK(contains(source,
                 "self.edge3 = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)"));
  CHECK_FALSE(contains(source, "self.edge0 ="));
  CHECK(contains(source, "n2 = x + self.edge2(torch.zeros_like(x))"));
  CHECK(contains(source, "n3 = self.edge3(x) + self.edge5(n2)"));
  CHECK(contains(source, "Reduction(8, 16),"));
  CHECK(contains(source, "Reduction(16, 32),"));
  CHECK(contains(source, "self.classifier = nn.Linear(32, NUM_CLASSES)"));
  CHECK(contains(source, "MEAN = (0.300000012,)"));
  CHECK(contains(source, "CLASSES = None"));

  const auto all_none = space.parse("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|");
  const auto empty =
      exporter::pytorch_module_source(space, all_none, {{1, 28, 28}, 10, {0.3f}, {0.4f}, {}});
  CHECK(contains(empty, "        pass\n"));
  CHECK(contains(empty, "return torch.zeros_like(x)"));
}

TEST_CASE("py_float writes floats that read back exactly", "[export]") {
  CHECK(exporter::detail::py_float(1.0f) == "1.0");
  CHECK(exporter::detail::py_float(0.5f) == "0.5");
  CHECK(std::stof(exporter::detail::py_float(0.1f)) == 0.1f);
  CHECK(std::stof(exporter::detail::py_float(1e-8f)) == 1e-8f);
}

TEST_CASE("export accepts --onnx required, auto or off, and others are a ConfigError", "[export]") {
  CHECK(exporter::parse_onnx_mode("required", "x") == exporter::OnnxMode::kRequired);
  CHECK(exporter::parse_onnx_mode("auto", "x") == exporter::OnnxMode::kAuto);
  CHECK(exporter::parse_onnx_mode("off", "x") == exporter::OnnxMode::kOff);
  CHECK_THROWS_AS(exporter::parse_onnx_mode("yes", "x"), ConfigError);
  const auto run = testing::run_cli("export --db nowhere.db --out nowhere --onnx maybe");
  CHECK(run.exit_code == 2);
  CHECK(run.output.find("--onnx: unknown value 'maybe'; expected required, auto or off") !=
        std::string::npos);
}

TEST_CASE("a missing interpreter: auto reports why, required throws, off does not try",
          "[export]") {
  const space::Nb201Space space(
      nlohmann::json{{"type", "nb201"}, {"channels", 2}, {"cells_per_stage", 1}});
  const auto arch = space.parse(
      "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|");
  auto network = space::build_network(space, arch, {1, 8, 8}, 3);
  const exporter::ModelSpec spec{{1, 8, 8}, 3, {0.5f}, {0.25f}, {}};
  const exporter::PythonConfig missing{"/nonexistent/python3", ""};
  testing::TempDir dir("export-no-python");
  const auto out = dir.file("m");
  std::filesystem::create_directories(out);
  std::ofstream(std::filesystem::path(out) / "model.onnx") << "stale";

  const auto report = exporter::write_portable_model(space, arch, *network, spec, out,
                                                     exporter::OnnxMode::kAuto, missing);
  CHECK_FALSE(report.onnx.written);
  CHECK(report.onnx.message == "/nonexistent/python3: not found or not executable");
  CHECK(std::filesystem::is_regular_file(std::filesystem::path(out) / "model.py"));
  CHECK(std::filesystem::is_regular_file(std::filesystem::path(out) / "model.safetensors"));
  CHECK_FALSE(std::filesystem::exists(std::filesystem::path(out) / "model.onnx"));  // stale gone

  CHECK_THROWS_WITH(exporter::write_portable_model(space, arch, *network, spec, out,
                                                   exporter::OnnxMode::kRequired, missing),
                    "model.onnx not written: /nonexistent/python3: not found or not executable");
  const auto off = exporter::write_portable_model(space, arch, *network, spec, out,
                                                  exporter::OnnxMode::kOff, missing);
  CHECK_FALSE(off.onnx.written);

  const auto run = exporter::run_python(missing, {"-c", "pass"});
  CHECK(run.exit_code == 127);
}
