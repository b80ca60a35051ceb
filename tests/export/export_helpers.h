#pragma once
// Helpers for the export tests: whether the Python with torch, onnx and ONNX Runtime is there,
// the C++ network's logits on a batch, and running check_export.py on an export.
#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "export/python_runner.h"
#include "export/safetensors.h"
#include "space/modules/network.h"

namespace nasforge::testing {

// Python with torch, onnx and onnxruntime under the build's NASFORGE_PYTHONPATH (asked once).
inline bool python_available() {
  static const bool available =
      exporter::run_python(exporter::default_python(), {"-c", "import torch, onnx, onnxruntime"})
          .exit_code == 0;
  return available;
}

#define NASFORGE_REQUIRE_PYTHON()                                            \
  do {                                                                       \
    if (!::nasforge::testing::python_available()) {                          \
      WARN(                                                                  \
          "skipped: python3 cannot import torch, onnx and onnxruntime (run " \
          "scripts/setup.sh, or set NASFORGE_PYTHONPATH)");                  \
      return;                                                                \
    }                                                                        \
  } while (false)

// The network's logits on uint8 images, normalised as the trainer does ((x / 255 - mean) / std
// as one multiply-add), in eval mode on the CPU.
inline at::Tensor cpp_logits(space::Network& network, const at::Tensor& images_u8,
                             const std::vector<float>& mean, const std::vector<float>& std) {
  std::vector<float> scale, shift;
  for (size_t c = 0; c < mean.size(); ++c) {
    scale.push_back(1.0f / (255.0f * std[c]));
    shift.push_back(-mean[c] / std[c]);
  }
  const auto count = static_cast<std::int64_t>(mean.size());
  const auto scale_t = at::tensor(scale, at::kFloat).view({1, count, 1, 1});
  const auto shift_t = at::tensor(shift, at::kFloat).view({1, count, 1, 1});
  network.to(at::kCPU);
  network.eval();
  c10::NoGradGuard no_grad;
  return network.forward(at::addcmul(shift_t, images_u8.to(at::kFloat), scale_t));
}

// Writes images, labels and the C++ logits to `reference`, runs check_export.py on `directory`
// and returns its JSON reply (fails the test when it prints none).
inline nlohmann::json check_in_python(const std::string& directory, const std::string& reference,
                                      const at::Tensor& images_u8, const at::Tensor& labels,
                                      const at::Tensor& logits) {
  exporter::write_safetensors(reference, {{"images", images_u8.contiguous()},
                                          {"labels", labels.to(at::kLong)},
                                          {"logits", logits.contiguous()}});
  const auto run = exporter::run_python(
      exporter::default_python(),
      {std::string(NASFORGE_SOURCE_DIR) + "/tests/export/check_export.py", directory, reference});
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  return nlohmann::json::parse(exporter::last_line(run.output));
}

}  // namespace nasforge::testing
