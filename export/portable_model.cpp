#include "export/portable_model.h"

#include <filesystem>
#include <fstream>

#include "common/errors.h"
#include "export/safetensors.h"

namespace nasforge::exporter {

OnnxMode parse_onnx_mode(const std::string& text, const std::string& where) {
  if (text == "required") return OnnxMode::kRequired;
  if (text == "auto") return OnnxMode::kAuto;
  if (text == "off") return OnnxMode::kOff;
  throw ConfigError(where + ": unknown value '" + text + "'; expected required, auto or off");
}

PortableModelReport write_portable_model(const space::SearchSpace& space,
                                         const space::Architecture& arch, space::Network& network,
                                         const ModelSpec& spec, const std::string& directory,
                                         OnnxMode onnx, const PythonConfig& python,
                                         const space::BlockWidths* widths) {
  namespace fs = std::filesystem;
  fs::create_directories(directory);
  write_safetensors(
      (fs::path(directory) / "model.safetensors").string(), module_state(network),
      {{"format", "pt"}, {"space", space.type()}, {"architecture", arch.canonical()}});
  const auto source = pytorch_module_source(space, arch, spec, widths);
  const auto py_path = fs::path(directory) / "model.py";
  {
    std::ofstream out(py_path, std::ios::trunc);
    out << source;
    if (!out) throw DataError(py_path.string() + ": cannot write; check the folder's permissions");
  }
  PortableModelReport report;
  if (onnx == OnnxMode::kOff) {
    std::error_code ignored;
    fs::remove(fs::path(directory) / "model.onnx", ignored);
    report.onnx.message = "not requested (--onnx off)";
    return report;
  }
  report.onnx = export_onnx(directory, python);
  if (!report.onnx.written && onnx == OnnxMode::kRequired) {
    throw Error("model.onnx not written: " + report.onnx.message);
  }
  return report;
}

}  // namespace nasforge::exporter
