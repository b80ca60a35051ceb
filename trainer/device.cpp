#include "trainer/device.h"

#include <torch/cuda.h>

#include "common/errors.h"

namespace nasforge::trainer {
namespace {

std::string gpus_here(int cuda_devices) {
  if (cuda_devices == 0) return "CUDA is not available on this machine; use \"auto\" or \"cpu\"";
  if (cuda_devices == 1) return "this machine has 1 GPU, cuda:0";
  return "this machine has " + std::to_string(cuda_devices) +
         " GPUs, cuda:0 to cuda:" + std::to_string(cuda_devices - 1);
}

}  // namespace

c10::Device parse_device(const std::string& name, int cuda_devices) {
  if (name == "auto") {
    return cuda_devices > 0 ? c10::Device(c10::kCUDA, 0) : c10::Device(c10::kCPU);
  }
  if (name == "cpu") return c10::Device(c10::kCPU);
  if (name != "cuda" && name.rfind("cuda:", 0) != 0) {
    throw ConfigError("device '" + name + "': unknown; expected auto, cpu, cuda or cuda:N");
  }
  int index = 0;
  if (name != "cuda") {
    const auto digits = name.substr(5);
    if (digits.empty() || digits.size() > 4 ||
        digits.find_first_not_of("0123456789") != std::string::npos) {
      throw ConfigError("device '" + name + "': expected cuda:N with N a GPU index");
    }
    index = std::stoi(digits);
  }
  if (index >= cuda_devices) throw ConfigError("device '" + name + "': " + gpus_here(cuda_devices));
  return c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index));
}

c10::Device resolve_device(const std::string& name) {
  return parse_device(name, static_cast<int>(torch::cuda::device_count()));
}

void check_devices(const std::vector<std::string>& names) {
  for (const auto& name : names) resolve_device(name);
}

}  // namespace nasforge::trainer
