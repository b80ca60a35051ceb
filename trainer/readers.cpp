// Readers for Fashion-MNIST (IDX, optionally gzip-compressed) and CIFAR-10 (binary batches).
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <zlib.h>

#include <array>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

#include "common/errors.h"
#include "trainer/dataset.h"

namespace nasforge::trainer {
namespace {

namespace fs = std::filesystem;

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};

// Reads a whole file, transparently decompressing gzip.
std::vector<std::uint8_t> read_file(const std::string& path) {
  std::unique_ptr<gzFile_s, GzCloser> file(gzopen(path.c_str(), "rb"));
  if (!file) throw DataError(path + ": cannot open");
  std::vector<std::uint8_t> bytes;
  std::array<std::uint8_t, 1 << 16> buffer;
  int n;
  while ((n = gzread(file.get(), buffer.data(), buffer.size())) > 0) {
    bytes.insert(bytes.end(), buffer.begin(), buffer.begin() + n);
  }
  if (n < 0) throw DataError(path + ": corrupt or truncated file");
  return bytes;
}

std::uint32_t big_endian(const std::vector<std::uint8_t>& b, size_t at) {
  return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) |
         (std::uint32_t{b[at + 2]} << 8) | std::uint32_t{b[at + 3]};
}

std::string find_file(const std::string& dir, const std::string& stem) {
  for (const auto& name : {stem + ".gz", stem}) {
    const auto path = (fs::path(dir) / name).string();
    if (fs::exists(path)) return path;
  }
  throw DataError(dir + ": dataset file " + stem +
                  "[.gz] not found (install Debian's "
                  "dataset-fashion-mnist or set dataset.path)");
}

at::Tensor read_idx(const std::string& path, std::uint32_t magic, std::vector<std::int64_t>& dims) {
  const auto bytes = read_file(path);
  if (bytes.size() < 8 || big_endian(bytes, 0) != magic) {
    throw DataError(path + ": not an IDX file of the expected type");
  }
  const size_t rank = magic & 0xff;
  size_t count = 1;
  dims.clear();
  for (size_t d = 0; d < rank; ++d) {
    dims.push_back(big_endian(bytes, 4 + 4 * d));
    count *= static_cast<size_t>(dims.back());
  }
  const size_t header = 4 + 4 * rank;
  if (bytes.size() != header + count) throw DataError(path + ": truncated IDX file");
  auto tensor = at::empty({static_cast<std::int64_t>(count)}, at::kByte);
  std::memcpy(tensor.data_ptr<std::uint8_t>(), bytes.data() + header, count);
  return tensor;
}

}  // namespace

Dataset read_fashion_mnist(const std::string& dir, bool train) {
  if (!fs::is_directory(dir)) {
    throw DataError(dir +
                    ": Fashion-MNIST directory not found (apt-get install "
                    "dataset-fashion-mnist, or set dataset.path)");
  }
  const std::string prefix = train ? "train" : "t10k";
  std::vector<std::int64_t> image_dims, label_dims;
  auto images = read_idx(find_file(dir, prefix + "-images-idx3-ubyte"), 0x00000803, image_dims);
  auto labels = read_idx(find_file(dir, prefix + "-labels-idx1-ubyte"), 0x00000801, label_dims);
  if (image_dims.size() != 3 || label_dims.size() != 1 || image_dims[0] != label_dims[0]) {
    throw DataError(dir + ": Fashion-MNIST image and label files do not match");
  }
  return {images.view({image_dims[0], 1, image_dims[1], image_dims[2]}), labels.to(at::kLong)};
}

Dataset read_cifar10(const std::string& dir_in, bool train) {
  std::string dir = dir_in;
  if (fs::is_directory(fs::path(dir) / "cifar-10-batches-bin")) {
    dir = (fs::path(dir) / "cifar-10-batches-bin").string();
  }
  std::vector<std::string> files;
  if (train) {
    for (int i = 1; i <= 5; ++i) files.push_back("data_batch_" + std::to_string(i) + ".bin");
  } else {
    files.push_back("test_batch.bin");
  }
  constexpr size_t kRecord = 1 + 3 * 32 * 32;
  std::vector<at::Tensor> images, labels;
  for (const auto& name : files) {
    const auto path = (fs::path(dir) / name).string();
    if (!fs::exists(path)) {
      throw DataError(path +
                      ": CIFAR-10 binary batch not found (point dataset.path at the "
                      "folder holding data_batch_1.bin ... test_batch.bin)");
    }
    const auto bytes = read_file(path);
    if (bytes.empty() || bytes.size() % kRecord != 0) {
      throw DataError(path + ": not a CIFAR-10 binary batch (size is not a multiple of 3073)");
    }
    const auto n = static_cast<std::int64_t>(bytes.size() / kRecord);
    auto all = at::empty({n, static_cast<std::int64_t>(kRecord)}, at::kByte);
    std::memcpy(all.data_ptr<std::uint8_t>(), bytes.data(), bytes.size());
    labels.push_back(all.select(1, 0).to(at::kLong));
    images.push_back(all.narrow(1, 1, 3 * 32 * 32).reshape({n, 3, 32, 32}).contiguous());
  }
  return {at::cat(images), at::cat(labels)};
}

Dataset make_synthetic(std::int64_t count, int channels, int size, int classes,
                       std::uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto labels = at::randint(classes, {count}, gen, at::kLong);
  // Each class lights up its own quadrant-like region, plus noise: learnable by a small CNN.
  auto images = at::rand({count, channels, size, size}, gen).mul(0.3);
  auto acc = images.accessor<float, 4>();
  auto lab = labels.accessor<std::int64_t, 1>();
  for (std::int64_t i = 0; i < count; ++i) {
    const auto cls = static_cast<int>(lab[i]);
    const int row = (cls * size) / classes;
    for (int c = 0; c < channels; ++c) {
      for (int x = 0; x < size; ++x) {
        acc[i][c][row][x] += 0.7f;
        acc[i][c][x][(row + size / 2) % size] += 0.3f * static_cast<float>(cls % 2);
      }
    }
  }
  return {images.clamp(0, 1).mul(255).to(at::kByte), labels};
}

}  // namespace nasforge::trainer
