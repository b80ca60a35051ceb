#pragma once
// NumPy's .npy format (a magic string, a version, a Python-dict header giving dtype, order and
// shape, then the raw data; numpy.org/neps/nep-0001-npy-format.html), parsed here, and .npz
// archives (a zip of .npy members) read through libzip.
#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace nasforge::trainer {

struct NpyArray {
  char byte_order = '|';  // '<' little, '>' big, '|' not applicable
  char kind = 'u';        // 'u' unsigned, 'i' signed, 'f' float, 'b' bool, ...
  int item_size = 1;      // bytes
  std::string descr;      // as written, e.g. "<i8"
  std::vector<std::int64_t> shape;
  std::vector<std::uint8_t> data;  // C order
  std::string name;                // the file (or "archive.npz:member"), for messages

  std::string dtype_name() const;  // e.g. "int64", "float32"
};

// Parses a whole .npy file's bytes; DataError naming `name` when malformed or truncated.
NpyArray parse_npy(std::vector<std::uint8_t> bytes, const std::string& name);
NpyArray read_npy(const std::string& path);
// The member `array` (with or without .npy) of an .npz archive; DataError naming the archive
// and the arrays it holds when there is no such member.
NpyArray read_npz_member(const std::string& path, const std::string& array);
// The names of an .npz archive's arrays (members without .npy).
std::vector<std::string> npz_members(const std::string& path);

// uint8 images [N, C, H, W] from (N,H,W), (N,H,W,C) or (N,C,H,W); layout: auto, nhwc or nchw.
at::Tensor npy_images(const NpyArray& array, const std::string& layout);
// int64 labels [N] from any integer dtype, shape (N) or (N, 1).
at::Tensor npy_labels(const NpyArray& array);

}  // namespace nasforge::trainer
