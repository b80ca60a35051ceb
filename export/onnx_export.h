#pragma once
// model.onnx, made by running the exported model.py under the Python that holds the PyTorch wheel
// (torch.onnx.export, TorchScript-based, so onnxscript is not needed), checked with
// onnx.checker and, when ONNX Runtime is installed, run against PyTorch on a small batch.
#include <string>

#include "export/python_runner.h"

namespace nasforge::exporter {

constexpr int kOnnxOpset = 17;

struct OnnxResult {
  bool written = false;
  // Why model.onnx was not written (one line), or what was checked.
  std::string message;
  double max_abs_difference = -1;  // ONNX Runtime vs PyTorch; -1: not run
};

// Exports `directory`/model.py with the weights of `directory`/model.safetensors to
// `directory`/model.onnx (input "images" [batch, C, H, W], output "logits" [batch, classes]).
// Never leaves a model.onnx behind that was not written and checked by this call.
OnnxResult export_onnx(const std::string& directory, const PythonConfig& python);

}  // namespace nasforge::exporter
