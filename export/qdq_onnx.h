#pragma once
// The int8 network as a QDQ ONNX model, and ONNX Runtime's accuracy and CPU latency of ONNX
// models. Both run Python scripts (onnx.helper, onnxruntime) under the Python that holds them.
//
// The QDQ model (model_int8.onnx) is built from the quantized graph compress::QuantNetwork
// writes: quant_graph.json (nodes, the activations' scales and zero points, "input_shape",
// "mean", "std") and quant_weights.safetensors (int8 weights, their per-channel scales, float
// biases and affines). Input "images" [batch, C, H, W] in [0, 1] (normalised inside, as
// model.onnx is), output "logits". Every quantized value is QuantizeLinear (uint8) then one
// DequantizeLinear per consumer; weights are int8 DequantizeLinear per output channel, biases
// int32 at input scale x weight scale. With graph optimisations on, ONNX Runtime's CPU provider
// turns DQ -> Conv -> Q into QLinearConv (and Add, Concat, pooling likewise).
#include <string>
#include <vector>

#include "export/python_runner.h"

namespace nasforge::exporter {

struct QdqResult {
  bool written = false;
  std::string message;  // why not (one line), or what was checked
};

// Writes `directory`/model_int8.onnx from the two files above (checked with onnx.checker);
// never leaves a model_int8.onnx that this call did not write.
QdqResult export_qdq_onnx(const std::string& directory, const PythonConfig& python);

// What ONNX Runtime measured of one model.
struct OrtModelFigures {
  std::string path;
  double accuracy = -1;           // on the data set; -1: no data given
  double latency_ms_batch1 = -1;  // median per batch; -1: not measured
  double latency_ms_batch64 = -1;
  int quantized_kernels = 0;  // QLinear*/QGemm/ConvInteger/MatMulInteger nodes after optimisation
  int float_convs = 0;        // Conv/FusedConv nodes after optimisation
};

struct OrtReport {
  bool ran = false;
  std::string message;  // why not (one line)
  std::vector<OrtModelFigures> models;
};

struct OrtOptions {
  // A safetensors file with "images" (uint8 [N, C, H, W]) and "labels" (int64 [N]); empty: no
  // accuracy.
  std::string data;
  bool latency = true;
  int threads = 1;                   // intra-op threads of each session
  double seconds_per_measure = 1.0;  // time spent per model and batch size (at least 10 runs)
};

// Runs each model in ONNX Runtime (CPUExecutionProvider, all graph optimisations).
OrtReport run_onnx_runtime(const std::vector<std::string>& models, const OrtOptions& options,
                           const PythonConfig& python);

}  // namespace nasforge::exporter
