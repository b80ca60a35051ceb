// Readers for IDX (optionally gzip-compressed) and CIFAR-10/100 binary files.
#include "trainer/data/readers.h"

#include <ATen/ATen.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/errors.h"
#include "common/log.h"
#include "trainer/data/gzip_file.h"

namespace nasforge::trainer {

namespace fs = std::filesystem;

namespace {

std::uint32_t big_endian(const std::vector<std::uint8_t>& b, size_t at) {
  return (std::uint32_t{b[at]} << 24) | (std::uint32_t{b[at + 1]} << 16) |
         (std::uint32_t{b[at + 2]} << 8) | std::uint32_t{b[at + 3]};
}

// The file, or the file with .gz; empty when neither exists.
std::string find_file(const std::string& dir, const std::string& name) {
  for (const auto& candidate : {name, name + ".gz"}) {
    const auto path = (fs::path(dir) / candidate).string();
    if (fs::exists(path)) return path;
  }
  return "";
}

// An IDX file of unsigned bytes: its dimensions and its data.
at::Tensor read_idx_file(const std::string& path, std::vector<std::int64_t>& dims) {
  const auto bytes = read_gzip_or_plain(path);
  // Magic: two zero bytes, the type (0x08: unsigned byte), the number of dimensions.
  if (bytes.size() < 4 || bytes[0] != 0 || bytes[1] != 0) {
    throw DataError(path + ": not an IDX file (bad magic number)");
  }
  if (bytes[2] != 0x08) {
    throw DataError(path + ": IDX data type 0x" + std::to_string(bytes[2]) +
                    " is not supported; expected unsigned bytes (0x08)");
  }
  const size_t rank = bytes[3];
  const size_t header = 4 + 4 * rank;
  if (rank == 0 || bytes.size() < header) throw DataError(path + ": truncated IDX file");
  size_t count = 1;
  dims.clear();
  for (size_t d = 0; d < rank; ++d) {
    dims.push_back(big_endian(bytes, 4 + 4 * d));
    count *= static_cast<size_t>(dims.back());
  }
  if (bytes.size() < header + count) {
    throw DataError(path + ": truncated IDX file (" + std::to_string(bytes.size() - header) +
                    " of " + std::to_string(count) + " data bytes)");
  }
  if (bytes.size() > header + count) {
    throw DataError(path + ": IDX file longer than its dimensions say (" +
                    std::to_string(bytes.size() - header - count) + " extra bytes)");
  }
  auto tensor = at::empty({static_cast<std::int64_t>(count)}, at::kByte);
  std::memcpy(tensor.data_ptr<std::uint8_t>(), bytes.data() + header, count);
  return tensor;
}

SourceSplit read_idx_pair(const std::string& images_path, const std::string& labels_path) {
  std::vector<std::int64_t> image_dims, label_dims;
  auto images = read_idx_file(images_path, image_dims);
  auto labels = read_idx_file(labels_path, label_dims);
  if (label_dims.size() != 1) {
    throw DataError(labels_path + ": labels must have one dimension, found " +
                    std::to_string(label_dims.size()));
  }
  SourceSplit split;
  if (image_dims.size() == 3) {
    images = images.view({image_dims[0], 1, image_dims[1], image_dims[2]});
  } else if (image_dims.size() == 4 && (image_dims[3] == 1 || image_dims[3] == 3)) {
    images = images.view({image_dims[0], image_dims[1], image_dims[2], image_dims[3]})
                 .permute({0, 3, 1, 2})
                 .contiguous();
  } else {
    throw DataError(images_path + ": images must be N x H x W (or N x H x W x 1|3), found " +
                    std::to_string(image_dims.size()) + " dimensions");
  }
  if (image_dims[0] != label_dims[0]) {
    throw DataError(images_path + ": " + std::to_string(image_dims[0]) + " images but " +
                    labels_path + " has " + std::to_string(label_dims[0]) + " labels");
  }
  split.data = {images, labels.to(at::kLong)};
  split.images_file = images_path;
  split.labels_file = labels_path;
  return split;
}

std::string or_default(const std::string& value, const std::string& fallback) {
  return value.empty() ? fallback : value;
}

}  // namespace

SourceData read_idx(const DatasetSpec& spec) {
  const auto& dir = spec.path;
  if (!fs::is_directory(dir)) {
    throw DataError(dir + (spec.name == "fashion-mnist"
                               ? ": Fashion-MNIST directory not found (apt-get install "
                                 "dataset-fashion-mnist, or set dataset.path)"
                               : ": IDX dataset folder not found (set dataset.path)"));
  }
  auto locate = [&](const std::string& name, const char* key, bool required) {
    auto path = find_file(dir, name);
    if (path.empty() && required) {
      throw DataError((fs::path(dir) / name).string() + "[.gz]: IDX file not found (set dataset." +
                      key + " if it has another name)");
    }
    return path;
  };
  SourceData source;
  source.train = read_idx_pair(
      locate(or_default(spec.train_images, "train-images-idx3-ubyte"), "train_images", true),
      locate(or_default(spec.train_labels, "train-labels-idx1-ubyte"), "train_labels", true));
  const auto test_images =
      locate(or_default(spec.test_images, "t10k-images-idx3-ubyte"), "test_images", false);
  const auto test_labels =
      locate(or_default(spec.test_labels, "t10k-labels-idx1-ubyte"), "test_labels", false);
  if (!test_images.empty() || !test_labels.empty()) {
    source.test = read_idx_pair(
        locate(or_default(spec.test_images, "t10k-images-idx3-ubyte"), "test_images", true),
        locate(or_default(spec.test_labels, "t10k-labels-idx1-ubyte"), "test_labels", true));
  } else {
    log::warn(dir + ": no test IDX files; `nasforge export` will have no test split");
  }
  const auto& images = source.train.data.images;
  source.shapes_found[std::to_string(images.size(2)) + "x" + std::to_string(images.size(3)) +
                      (images.size(1) == 1 ? " gray" : " RGB")] = source.train.size();
  return source;
}

namespace {

// Class names, one per line, when the archive ships them (batches.meta.txt and friends).
std::vector<std::string> read_names(const fs::path& file) {
  std::vector<std::string> names;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (!line.empty()) names.push_back(line);
  }
  return names;
}

SourceSplit read_cifar_files(const fs::path& dir, const std::vector<std::string>& files,
                             bool cifar100, bool coarse) {
  const size_t label_bytes = cifar100 ? 2 : 1;
  const size_t record = label_bytes + 3 * 32 * 32;
  const std::string kind = cifar100 ? "CIFAR-100" : "CIFAR-10";
  std::vector<at::Tensor> images, labels;
  SourceSplit split;
  for (const auto& name : files) {
    const auto path = (dir / name).string();
    if (!fs::exists(path)) {
      throw DataError(path + ": " + kind + " binary file not found (point dataset.path at the " +
                      "folder holding " + files.front() + ")");
    }
    const auto bytes = read_gzip_or_plain(path);
    if (bytes.empty() || bytes.size() % record != 0) {
      throw DataError(path + ": not a " + kind + " binary file (size " +
                      std::to_string(bytes.size()) + " is not a multiple of " +
                      std::to_string(record) + "; truncated?)");
    }
    const auto n = static_cast<std::int64_t>(bytes.size() / record);
    auto all = at::empty({n, static_cast<std::int64_t>(record)}, at::kByte);
    std::memcpy(all.data_ptr<std::uint8_t>(), bytes.data(), bytes.size());
    // CIFAR-100 records: coarse label, fine label, pixels.
    const std::int64_t label_column = cifar100 && !coarse ? 1 : 0;
    labels.push_back(all.select(1, label_column).to(at::kLong));
    images.push_back(all.narrow(1, static_cast<std::int64_t>(label_bytes), 3 * 32 * 32)
                         .reshape({n, 3, 32, 32})
                         .contiguous());
    for (std::int64_t i = 0; i < n; ++i) {
      split.origins.push_back(path + "[" + std::to_string(i) + "]");
    }
  }
  split.data = {at::cat(images), at::cat(labels)};
  return split;
}

}  // namespace

SourceData read_cifar(const DatasetSpec& spec) {
  const bool cifar100 = spec.format == "cifar100";
  fs::path dir = spec.path;
  const char* inner = cifar100 ? "cifar-100-binary" : "cifar-10-batches-bin";
  if (fs::is_directory(dir / inner)) dir /= inner;
  if (!fs::is_directory(dir)) {
    throw DataError(spec.path + ": " + (cifar100 ? "CIFAR-100" : "CIFAR-10") +
                    " folder not found (set dataset.path)");
  }
  SourceData source;
  source.natural_images = true;
  if (cifar100) {
    const bool coarse = spec.label == "coarse";
    source.train = read_cifar_files(dir, {"train.bin"}, true, coarse);
    source.test = read_cifar_files(dir, {"test.bin"}, true, coarse);
    source.class_names =
        read_names(dir / (coarse ? "coarse_label_names.txt" : "fine_label_names.txt"));
  } else {
    std::vector<std::string> batches;
    for (int i = 1; i <= 5; ++i) batches.push_back("data_batch_" + std::to_string(i) + ".bin");
    source.train = read_cifar_files(dir, batches, false, false);
    source.test = read_cifar_files(dir, {"test_batch.bin"}, false, false);
    source.class_names = read_names(dir / "batches.meta.txt");
  }
  source.shapes_found["32x32 RGB"] = source.train.size();
  return source;
}

SourceData read_synthetic() {
  SourceData source;
  source.train.data = make_synthetic(1200, 1, 12, 4, 7);
  source.train.images_file = "synthetic-train";
  source.test = SourceSplit{};
  source.test->data = make_synthetic(300, 1, 12, 4, 8);
  source.test->images_file = "synthetic-test";
  source.shapes_found["12x12 gray"] = 1200;
  return source;
}

// The old entry points, for their tests.
Dataset read_fashion_mnist(const std::string& dir, bool train) {
  if (!fs::is_directory(dir)) {
    throw DataError(dir +
                    ": Fashion-MNIST directory not found (apt-get install "
                    "dataset-fashion-mnist, or set dataset.path)");
  }
  DatasetSpec spec;
  spec.path = dir;
  auto source = read_idx(spec);
  if (train) return source.train.data;
  if (!source.test) throw DataError(dir + ": no t10k-* IDX files");
  return source.test->data;
}

Dataset read_cifar10(const std::string& dir, bool train) {
  DatasetSpec spec;
  spec.format = "cifar10";
  spec.path = dir;
  auto source = read_cifar(spec);
  return train ? source.train.data : source.test->data;
}

}  // namespace nasforge::trainer
