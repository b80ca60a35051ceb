#include "export/onnx_export.h"

#include <filesystem>
#include <iomanip>
#include <sstream>

#include <nlohmann/json.hpp>

namespace nasforge::exporter {
namespace {

// Run as `python3 -B -c kScript DIRECTORY OPSET`. The last line it prints is one JSON object:
// {"ok": true, "max_abs_difference": d} or {"ok": false, "error": "..."}.
constexpr const char* kScript = R"PY(
import importlib.util, json, os, sys, warnings

def main(directory, opset):
    try:
        import torch
    except ImportError as e:
        return {"ok": False, "error": "Python cannot import torch (%s); set NASFORGE_PYTHONPATH" % e}
    try:
        import onnx
    except ImportError as e:
        return {"ok": False, "error": "Python cannot import onnx (%s); pip install onnx" % e}
    spec = importlib.util.spec_from_file_location("nasforge_exported_model",
                                                  os.path.join(directory, "model.py"))
    model = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(model)
    net = model.load(directory)
    target = os.path.join(directory, "model.onnx")
    tmp = target + ".tmp"
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
        torch.onnx.export(net, (torch.rand(2, *model.INPUT_SHAPE),), tmp, dynamo=False,
                          opset_version=opset, input_names=["images"], output_names=["logits"],
                          dynamic_axes={"images": {0: "batch"}, "logits": {0: "batch"}})
    try:
        onnx.checker.check_model(onnx.load(tmp), full_check=True)
        result = {"ok": True, "max_abs_difference": -1}
        try:
            import onnxruntime
        except ImportError:
            onnxruntime = None
        if onnxruntime is not None:
            session = onnxruntime.InferenceSession(tmp, providers=["CPUExecutionProvider"])
            x = torch.rand(3, *model.INPUT_SHAPE)
            with torch.no_grad():
                expected = net(x).numpy()
            got = session.run(None, {"images": x.numpy()})[0]
            result["max_abs_difference"] = float(abs(got - expected).max())
        os.replace(tmp, target)
        return result
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)

try:
    result = main(sys.argv[1], int(sys.argv[2]))
except Exception as e:
    result = {"ok": False, "error": "%s: %s" % (type(e).__name__, str(e).strip().splitlines()[0] if str(e).strip() else "")}
print(json.dumps(result))
)PY";

}  // namespace

OnnxResult export_onnx(const std::string& directory, const PythonConfig& python) {
  namespace fs = std::filesystem;
  const auto target = fs::path(directory) / "model.onnx";
  std::error_code ignored;
  fs::remove(target, ignored);  // a model.onnx from an earlier export would not match
  OnnxResult result;
  const auto run = run_python(
      python, {"-c", kScript, fs::absolute(directory).string(), std::to_string(kOnnxOpset)});
  nlohmann::json reply;
  try {
    reply = nlohmann::json::parse(last_line(run.output));
  } catch (const nlohmann::json::parse_error&) {
    result.message = run.exit_code == 127
                         ? last_line(run.output)
                         : python.interpreter + " failed (exit code " +
                               std::to_string(run.exit_code) + "): " + last_line(run.output);
    return result;
  }
  if (!reply.is_object() || !reply.value("ok", false)) {
    result.message = reply.is_object() ? reply.value("error", "unknown error") : "unknown error";
    return result;
  }
  result.written = true;
  result.max_abs_difference = reply.value("max_abs_difference", -1.0);
  result.message = "opset " + std::to_string(kOnnxOpset) + ", onnx.checker passed";
  if (result.max_abs_difference >= 0) {
    std::ostringstream diff;
    diff << std::scientific << std::setprecision(1) << result.max_abs_difference;
    result.message += ", ONNX Runtime matches PyTorch to " + diff.str();
  }
  return result;
}

}  // namespace nasforge::exporter
