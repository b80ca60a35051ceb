#pragma once
// How the test workers leave tensors for their tests: float32, raw, one after another
// (tests/distributed/rank_files.h reads them back).
#include <ATen/ATen.h>

#include <fstream>
#include <string>
#include <vector>

namespace nasforge::testing {

inline void write_floats(const std::string& path, const std::vector<at::Tensor>& tensors) {
  std::vector<at::Tensor> flat;
  for (const auto& t : tensors) flat.push_back(t.detach().reshape({-1}).to(at::kFloat));
  const auto all = at::cat(flat).contiguous();
  std::ofstream f(path, std::ios::binary);
  f.write(static_cast<const char*>(all.data_ptr()), all.numel() * sizeof(float));
}

}  // namespace nasforge::testing
