#pragma once
// The safetensors format (Hugging Face): an 8-byte little-endian header length, a JSON header
// {name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {string: string}}
// padded with spaces to a multiple of 8 bytes, then the tensors' raw little-endian bytes. Python
// reads it without pickle: safetensors.torch.load_file, or json + torch.frombuffer.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

namespace nasforge::exporter {

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

// A module's named_parameters() then named_buffers() (BatchNorm running statistics and
// num_batches_tracked included), the names PyTorch's state_dict() gives the same module.
NamedTensors module_state(const torch::nn::Module& module);

// The safetensors dtype name ("F32", "I64", "U8", ...); throws InternalError for a dtype the
// format does not have.
std::string safetensors_dtype(c10::ScalarType type);

// Writes `tensors` (any device, any layout; copied to contiguous CPU memory) to `path`, through a
// temporary file renamed into place. Throws DataError when the file cannot be written and
// InternalError on a repeated name.
void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata = {});

struct SafetensorsFile {
  NamedTensors tensors;  // in file order
  std::map<std::string, std::string> metadata;
};

// Reads a file written by write_safetensors (or by Python's safetensors); throws DataError naming
// the file when it is truncated or malformed.
SafetensorsFile read_safetensors(const std::string& path);

}  // namespace nasforge::exporter
