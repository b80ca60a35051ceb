// NumPy sources: .npy files in a folder, or the arrays of one .npz archive.
#include <filesystem>

#include "common/errors.h"
#include "common/log.h"
#include "trainer/data/numpy_array.h"
#include "trainer/data/readers.h"

namespace nasforge::trainer {

namespace fs = std::filesystem;

namespace {

std::string or_default(const std::string& value, const std::string& fallback) {
  return value.empty() ? fallback : value;
}

SourceSplit make_split(const NpyArray& images, const NpyArray& labels, const std::string& layout) {
  SourceSplit split;
  split.data.images = npy_images(images, layout);
  split.data.labels = npy_labels(labels);
  if (split.data.images.size(0) != split.data.labels.size(0)) {
    throw DataError(images.name + ": " + std::to_string(split.data.images.size(0)) +
                    " images but " + labels.name + " has " +
                    std::to_string(split.data.labels.size(0)) +
                    " labels; the two must have the same length");
  }
  split.images_file = images.name;
  split.labels_file = labels.name;
  return split;
}

std::string shape_key(const at::Tensor& images) {
  return std::to_string(images.size(2)) + "x" + std::to_string(images.size(3)) +
         (images.size(1) == 1 ? " gray" : " RGB");
}

}  // namespace

SourceData read_numpy(const DatasetSpec& spec) {
  const auto x_train = or_default(spec.train_images, "x_train");
  const auto y_train = or_default(spec.train_labels, "y_train");
  const auto x_test = or_default(spec.test_images, "x_test");
  const auto y_test = or_default(spec.test_labels, "y_test");
  SourceData source;
  std::string archive;
  if (!spec.arrays.empty()) {
    archive = (fs::path(spec.path) / spec.arrays).string();
  } else if (fs::path(spec.path).extension() == ".npz") {
    archive = spec.path;
  }
  if (!archive.empty()) {
    if (!fs::exists(archive)) throw DataError(archive + ": .npz archive not found");
    source.train = make_split(read_npz_member(archive, x_train), read_npz_member(archive, y_train),
                              spec.layout);
    const auto members = npz_members(archive);
    auto has = [&](const std::string& m) {
      return std::find(members.begin(), members.end(), m) != members.end();
    };
    if (has(x_test) || has(y_test)) {
      source.test = make_split(read_npz_member(archive, x_test), read_npz_member(archive, y_test),
                               spec.layout);
    } else {
      log::warn(archive + ": no test arrays; `nasforge export` will have no test split");
    }
  } else {
    if (!fs::is_directory(spec.path)) {
      throw DataError(spec.path + ": NumPy dataset folder (or .npz file) not found");
    }
    auto file = [&](const std::string& name) {
      auto path = fs::path(spec.path) / name;
      if (path.extension() != ".npy") path += ".npy";
      return path.string();
    };
    for (const auto& [key, name] :
         {std::pair{"train_images", x_train}, std::pair{"train_labels", y_train}}) {
      if (!fs::exists(file(name))) {
        throw DataError(file(name) + ": .npy file not found (set dataset." + key +
                        " if it has another name)");
      }
    }
    source.train = make_split(read_npy(file(x_train)), read_npy(file(y_train)), spec.layout);
    if (fs::exists(file(x_test)) || fs::exists(file(y_test))) {
      source.test = make_split(read_npy(file(x_test)), read_npy(file(y_test)), spec.layout);
    } else {
      log::warn(spec.path + ": no " + x_test + ".npy; `nasforge export` will have no test split");
    }
  }
  source.shapes_found[shape_key(source.train.data.images)] = source.train.size();
  return source;
}

}  // namespace nasforge::trainer
