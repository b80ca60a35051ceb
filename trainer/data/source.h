#pragma once
// What a dataset source (a folder of images, IDX files, CIFAR batches, NumPy arrays) yields before
// cleaning and splitting: decoded uint8 images with integer labels, per split the source itself
// provides, with where each image came from so that errors and inspection can name it.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "trainer/dataset.h"

namespace nasforge::trainer {

// One split as the source provides it.
struct SourceSplit {
  Dataset data;                      // images uint8 [N, C, H, W], labels int64 [N]
  std::vector<std::string> origins;  // per image: its file (formats with a file per image)
  // Array formats name their images "file[index]" instead of listing them in `origins`, and
  // a label by its own file when labels are kept apart from the images.
  std::string images_file;
  std::string labels_file;
  std::vector<std::int64_t> positions;  // per image, its index in those files (empty: 0..N-1)

  std::int64_t size() const { return data.size(); }
  // Where image i came from: origins[i], or "images_file[i]".
  std::string origin(std::int64_t i) const;
  // Where label i came from: "labels_file[i]", or origin(i).
  std::string label_origin(std::int64_t i) const;
  // The images at `index` (in that order), with their origins.
  SourceSplit select(const std::vector<std::int64_t>& index) const;
};

// A file the source could not use (skipped and counted, never silently dropped).
struct SkippedFile {
  std::string path;
  std::string reason;  // e.g. "truncated JPEG", "not an image", "permission denied"
};

struct SourceData {
  SourceSplit train;
  std::optional<SourceSplit> validation;  // only when the source has its own (e.g. a val/ folder)
  std::optional<SourceSplit> test;
  std::vector<std::string> class_names;  // index = label; empty: "0" .. "K-1"
  bool natural_images = false;           // photos: horizontal flips make sense
  std::vector<SkippedFile> skipped;
  // Image sizes and modes as found before any resize, e.g. {"28x28 gray": 60000}.
  std::map<std::string, std::int64_t> shapes_found;
};

}  // namespace nasforge::trainer
