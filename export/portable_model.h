#pragma once
// The part of `nasforge export` that takes a trained network out of nasforge: model.py (PyTorch,
// no nasforge import), model.safetensors (the weights, no pickle) and model.onnx.
#include <string>

#include "export/onnx_export.h"
#include "export/python_runner.h"
#include "export/pytorch_module.h"
#include "space/modules/network.h"

namespace nasforge::exporter {

// required: a model.onnx that cannot be made is an error; auto: a warning; off: not attempted.
enum class OnnxMode { kRequired, kAuto, kOff };

// "required", "auto" or "off"; throws ConfigError naming `where` otherwise.
OnnxMode parse_onnx_mode(const std::string& text, const std::string& where);

struct PortableModelReport {
  OnnxResult onnx;  // onnx.written is false when mode was off or the export failed
};

// Writes `directory`/model.py and model.safetensors for `network` (a network of `arch` in
// `space`, built for spec.shape and spec.num_classes, any device), then model.onnx as `onnx`
// says. Throws Error when model.onnx is required and cannot be made, DataError when a file
// cannot be written. `widths`: the inner widths of a pruned block network (null: the
// architecture's).
PortableModelReport write_portable_model(const space::SearchSpace& space,
                                         const space::Architecture& arch, space::Network& network,
                                         const ModelSpec& spec, const std::string& directory,
                                         OnnxMode onnx,
                                         const PythonConfig& python = default_python(),
                                         const space::BlockWidths* widths = nullptr);

}  // namespace nasforge::exporter
