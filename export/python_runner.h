#pragma once
// Runs the Python interpreter that holds the PyTorch wheel set-up installed (and onnx, ONNX
// Runtime), for the steps of an export that only Python can do (torch.onnx.export).
#include <string>
#include <vector>

namespace nasforge::exporter {

struct PythonConfig {
  std::string interpreter = "python3";  // a path, or a name looked up in PATH
  std::string pythonpath;               // prepended to PYTHONPATH; empty: left as it is
};

// The interpreter from NASFORGE_PYTHON (default python3) and the PYTHONPATH from the
// environment variable NASFORGE_PYTHONPATH, else from the build (scripts/setup.sh sets it to the
// torch and Python-extras folders).
PythonConfig default_python();

struct PythonResult {
  int exit_code = -1;  // 127: the interpreter could not be started
  std::string output;  // stdout and stderr together
};

// Runs `interpreter -B args...` (no .pyc files left beside an exported model.py) and waits.
PythonResult run_python(const PythonConfig& python, const std::vector<std::string>& args);

// The last non-empty line of `output` (where Python puts the exception), for one-line errors.
std::string last_line(const std::string& output);

}  // namespace nasforge::exporter
