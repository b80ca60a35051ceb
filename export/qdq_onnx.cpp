#include "export/qdq_onnx.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "export/onnx_export.h"

namespace nasforge::exporter {
namespace {

// The safetensors reader both scripts share (numpy only).
constexpr const char* kReadSafetensors = R"PY(
import json, os, sys
import numpy as np

def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    size = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + size])
    types = {"F32": np.float32, "I8": np.int8, "U8": np.uint8, "I32": np.int32, "I64": np.int64}
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        tensors[name] = np.frombuffer(data[8 + size + begin:8 + size + end],
                                      dtype=types[entry["dtype"]]).reshape(entry["shape"])
    return tensors
)PY";

// Run as `python3 -B -c SCRIPT DIRECTORY OPSET`; the last line printed is one JSON object.
constexpr const char* kBuildScript = R"PY(
def build(directory, opset):
    import onnx
    from onnx import helper, numpy_helper, TensorProto
    with open(os.path.join(directory, "quant_graph.json")) as f:
        g = json.load(f)
    t = read_safetensors(os.path.join(directory, "quant_weights.safetensors"))
    nodes, inits = [], []

    def init(name, value):
        inits.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def node(op, inputs, outputs, **attrs):
        nodes.append(helper.make_node(op, inputs, outputs, **attrs))
        return outputs[0]

    c, h, w = g["input_shape"]
    mean = np.asarray(g["mean"], np.float32).reshape(1, c, 1, 1)
    std = np.asarray(g["std"], np.float32).reshape(1, c, 1, 1)
    x = node("Mul", ["images", init("norm_scale", (1 / std).astype(np.float32))], ["norm_mul"])
    x = node("Add", [x, init("norm_shift", (-mean / std).astype(np.float32))], ["normalised"])
    spec = g["nodes"]
    quantized = {}
    count = [0]

    def dq(i):  # one DequantizeLinear per consumer, as ONNX Runtime's node units want
        q, s, z = quantized[i]
        count[0] += 1
        return node("DequantizeLinear", [q, s, z], ["%s_dq%d" % (q, count[0])])

    def weight(i, axis_len):
        wq = t["n%d.weight" % i]
        ws = t["n%d.weight_scale" % i].astype(np.float32)
        w = node("DequantizeLinear", [init("n%d_wq" % i, wq), init("n%d_ws" % i, ws),
                                      init("n%d_wz" % i, np.zeros(ws.shape, np.int8))],
                 ["n%d_w" % i], axis=0)
        in_scale = np.float32(spec[spec[i]["inputs"][0]]["scale"])
        bs = (in_scale * ws).astype(np.float32)
        bq = np.round(t["n%d.bias" % i].astype(np.float64) / bs).astype(np.int32)
        b = node("DequantizeLinear", [init("n%d_bq" % i, bq), init("n%d_bs" % i, bs),
                                      init("n%d_bz" % i, np.zeros(bs.shape, np.int32))],
                 ["n%d_b" % i], axis=0)
        return w, b

    for i, n in enumerate(spec):
        op, ins, out = n["op"], n["inputs"], "v%d" % i
        if op == "input":
            y = x
        elif op == "conv":
            wt, b = weight(i, None)
            s, p = n["stride"], n["padding"]
            y = node("Conv", [dq(ins[0]), wt, b], [out], strides=[s, s], pads=[p, p, p, p])
        elif op == "add":
            y = node("Add", [dq(ins[0]), dq(ins[1])], [out])
        elif op == "concat":
            y = node("Concat", [dq(k) for k in ins], [out], axis=1)
        elif op == "avgpool":
            y = node("AveragePool", [dq(ins[0])], [out], kernel_shape=[2, 2], strides=[2, 2])
        elif op == "global_mean":
            y = node("GlobalAveragePool", [dq(ins[0])], [out])
        elif op == "affine":
            y = node("Mul", [dq(ins[0]), init("n%d_scale" % i, t["n%d.scale" % i].reshape(1, -1, 1, 1))],
                     [out + "_mul"])
            y = node("Add", [y, init("n%d_shift" % i, t["n%d.shift" % i].reshape(1, -1, 1, 1))], [out])
        elif op == "linear":
            wt, b = weight(i, None)
            flat = node("Flatten", [dq(ins[0])], [out + "_flat"], axis=1)
            y = node("Gemm", [flat, wt, b], ["logits"], transB=1)
        else:
            raise ValueError("unknown node type %s" % op)
        if n["relu"]:
            y = node("Relu", [y], [out + "_relu"])
        if op != "linear":
            s = init("a%d_scale" % i, np.float32(n["scale"]))
            z = init("a%d_zp" % i, np.uint8(n["zero_point"]))
            quantized[i] = (node("QuantizeLinear", [y, s, z], ["a%d_q" % i]), s, z)
    graph = helper.make_graph(
        nodes, "nasforge_int8",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, ["batch", c, h, w])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", None])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="nasforge")
    model.ir_version = min(model.ir_version, 8)
    onnx.checker.check_model(model, full_check=True)
    target = os.path.join(directory, "model_int8.onnx")
    tmp = target + ".tmp"
    onnx.save(model, tmp)
    os.replace(tmp, target)
    return {"ok": True, "nodes": len(nodes)}

try:
    result = build(sys.argv[1], int(sys.argv[2]))
except Exception as e:
    result = {"ok": False, "error": "%s: %s" % (type(e).__name__, str(e).strip().splitlines()[0] if str(e).strip() else "")}
print(json.dumps(result))
)PY";

// Run as `python3 -B -c SCRIPT JSON_ARGS`; the last line printed is one JSON object.
constexpr const char* kRunScript = R"PY(
import statistics, tempfile, time

def kernels(session_options, path):
    import onnx, onnxruntime as ort
    with tempfile.TemporaryDirectory() as tmp:
        session_options.optimized_model_filepath = os.path.join(tmp, "optimised.onnx")
        ort.InferenceSession(path, session_options, providers=["CPUExecutionProvider"])
        ops = [n.op_type for n in onnx.load(session_options.optimized_model_filepath).graph.node]
    quantized = sum(1 for o in ops if o.startswith("QLinear") or o in ("QGemm", "ConvInteger",
                                                                        "MatMulInteger", "DynamicQuantizeMatMul"))
    convs = sum(1 for o in ops if o in ("Conv", "FusedConv"))
    return quantized, convs

def measure(session, shape, seconds):
    x = np.random.rand(*shape).astype(np.float32)
    for _ in range(3):
        session.run(None, {"images": x})
    times = []
    end = time.perf_counter() + seconds
    while len(times) < 10 or (time.perf_counter() < end and len(times) < 2000):
        start = time.perf_counter()
        session.run(None, {"images": x})
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)

def run(args):
    try:
        import onnxruntime as ort
    except ImportError as e:
        return {"ok": False, "error": "Python cannot import onnxruntime (%s)" % e}
    data = read_safetensors(args["data"]) if args["data"] else None
    out = []
    for path in args["models"]:
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.intra_op_num_threads = args["threads"]
        so.inter_op_num_threads = 1
        figures = {"path": path}
        figures["quantized_kernels"], figures["float_convs"] = kernels(so, path)
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.intra_op_num_threads = args["threads"]
        so.inter_op_num_threads = 1
        session = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        shape = session.get_inputs()[0].shape[1:]
        if data is not None:
            images, labels = data["images"], data["labels"]
            correct = 0
            for b in range(0, len(labels), 256):
                x = images[b:b + 256].astype(np.float32) / 255
                logits = session.run(None, {"images": x})[0]
                correct += int((logits.argmax(1) == labels[b:b + 256]).sum())
            figures["accuracy"] = correct / max(len(labels), 1)
        if args["latency"]:
            figures["latency_ms_batch1"] = measure(session, [1] + shape, args["seconds"])
            figures["latency_ms_batch64"] = measure(session, [64] + shape, args["seconds"])
        out.append(figures)
    return {"ok": True, "models": out}

try:
    result = run(json.loads(sys.argv[1]))
except Exception as e:
    result = {"ok": False, "error": "%s: %s" % (type(e).__name__, str(e).strip().splitlines()[0] if str(e).strip() else "")}
print(json.dumps(result))
)PY";

// The reply's JSON object, or an error naming the interpreter.
nlohmann::json reply_of(const PythonResult& run, const PythonConfig& python) {
  try {
    auto reply = nlohmann::json::parse(last_line(run.output));
    if (reply.is_object()) return reply;
  } catch (const nlohmann::json::parse_error&) {
  }
  const auto error = run.exit_code == 127
                         ? last_line(run.output)
                         : python.interpreter + " failed (exit code " +
                               std::to_string(run.exit_code) + "): " + last_line(run.output);
  return {{"ok", false}, {"error", error}};
}

}  // namespace

QdqResult export_qdq_onnx(const std::string& directory, const PythonConfig& python) {
  namespace fs = std::filesystem;
  std::error_code ignored;
  fs::remove(fs::path(directory) / "model_int8.onnx", ignored);
  const auto script = std::string(kReadSafetensors) + kBuildScript;
  const auto reply = reply_of(run_python(python, {"-c", script, fs::absolute(directory).string(),
                                                  std::to_string(kOnnxOpset)}),
                              python);
  QdqResult result;
  if (!reply.value("ok", false)) {
    result.message = reply.value("error", "unknown error");
    return result;
  }
  result.written = true;
  result.message = "QDQ, opset " + std::to_string(kOnnxOpset) + ", " +
                   std::to_string(reply.value("nodes", 0)) + " nodes, onnx.checker passed";
  return result;
}

OrtReport run_onnx_runtime(const std::vector<std::string>& models, const OrtOptions& options,
                           const PythonConfig& python) {
  namespace fs = std::filesystem;
  nlohmann::json args = {{"models", nlohmann::json::array()},
                         {"data", options.data.empty() ? "" : fs::absolute(options.data).string()},
                         {"latency", options.latency},
                         {"threads", options.threads},
                         {"seconds", options.seconds_per_measure}};
  for (const auto& m : models) args["models"].push_back(fs::absolute(m).string());
  const auto script = std::string(kReadSafetensors) + kRunScript;
  const auto reply = reply_of(run_python(python, {"-c", script, args.dump()}), python);
  OrtReport report;
  if (!reply.value("ok", false)) {
    report.message = reply.value("error", "unknown error");
    return report;
  }
  report.ran = true;
  for (const auto& m : reply.at("models")) {
    OrtModelFigures f;
    f.path = m.value("path", "");
    f.accuracy = m.value("accuracy", -1.0);
    f.latency_ms_batch1 = m.value("latency_ms_batch1", -1.0);
    f.latency_ms_batch64 = m.value("latency_ms_batch64", -1.0);
    f.quantized_kernels = m.value("quantized_kernels", 0);
    f.float_convs = m.value("float_convs", 0);
    report.models.push_back(f);
  }
  return report;
}

}  // namespace nasforge::exporter
