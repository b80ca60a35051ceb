#pragma once
// Image classification datasets held in memory as uint8 tensors, split into train / validation
// (carved from the training set, stratified, with a fixed seed, unless the source has its own) /
// test (the source's own test split, used only by `nasforge export`).
//
// The pipeline: a reader per format decodes the source (trainer/data/readers.h), the decoded
// source is cached when decoding costs something (trainer/data/dataset_cache.h), cleaning drops
// exact duplicates and checks labels (trainer/data/cleaning.h), and load_splits splits it.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "space/modules/network.h"

namespace nasforge::trainer {

struct Dataset {
  at::Tensor images;  // uint8 [N, C, H, W]
  at::Tensor labels;  // int64 [N]
  std::int64_t size() const { return images.defined() ? images.size(0) : 0; }
};

// The experiment file's "dataset" object. `format` chooses the reader; `name` is a free label,
// except that the old files' "fashion-mnist" and "cifar10" without a format still mean idx and
// cifar10. Paths of files inside `path` are relative to it.
struct DatasetSpec {
  std::string name = "fashion-mnist";
  // idx, cifar10, cifar100, numpy, image-folder or synthetic (tests only).
  std::string format = "idx";
  std::string path = "/usr/share/datasets/fashion-mnist";

  // Decoding (image-folder): resize to image_size x image_size (0: all images must share one
  // size) and force 1 or 3 channels (0: as found; mixed modes become RGB).
  int image_size = 0;
  int channels = 0;
  std::string label = "fine";   // cifar100: fine (100 classes) or coarse (20)
  std::string layout = "auto";  // numpy: auto, nhwc or nchw
  // File names inside `path` (idx: IDX files with optional .gz; numpy: .npy files, or the
  // array names inside the .npz named by `arrays`). Empty: the format's default.
  std::string train_images, train_labels, test_images, test_labels;
  std::string arrays;  // numpy: an .npz inside path (or path itself ending in .npz)

  // Classes: declared (num_classes or class_names) or discovered from the labels.
  int num_classes = 0;
  std::vector<std::string> class_names;

  bool drop_duplicates = true;  // exact duplicates within a split (the first is kept)
  bool cache = true;            // cache decoded image folders (see dataset_cache.h)
  std::string cache_dir;        // empty: $NASFORGE_CACHE/data or ~/.cache/nasforge/data

  double validation_fraction = 0.1;
  std::int64_t train_subset = 0;  // use at most this many training images (0: all)
  std::uint64_t split_seed = 0;

  static DatasetSpec from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
};

// An image the cleaning found twice: `dropped` (or, across splits, the test image) has the same
// decoded bytes as `kept`.
struct DuplicatePair {
  std::string kept;
  std::string dropped;
};

// What load_splits found and did, for `nasforge data inspect` and the experiment's record.
struct DataReport {
  std::string source;  // "<format> <path>"
  std::vector<std::string> class_names;
  // Images per class, by split ("train", "validation", "test"), after cleaning and splitting.
  std::map<std::string, std::vector<std::int64_t>> per_class;
  std::map<std::string, std::int64_t> shapes_found;  // e.g. "28x28 gray" -> count, before resize
  std::vector<std::pair<std::string, std::string>> skipped;  // file, reason
  // Exact duplicates within each split of the source ("train", "validation", "test"): how many
  // and the first few pairs. Dropped when drop_duplicates, else only counted.
  std::map<std::string, std::int64_t> duplicates;
  std::map<std::string, std::vector<DuplicatePair>> duplicate_examples;
  bool duplicates_dropped = false;
  // Test images whose bytes also appear in the training source (reported, never dropped).
  std::int64_t leakage = 0;
  std::vector<DuplicatePair> leakage_examples;
  // Labels outside the classes: load_splits throws on the first; inspection lists them here.
  std::vector<std::string> label_errors;
  bool from_cache = false;

  std::int64_t skipped_count() const { return static_cast<std::int64_t>(skipped.size()); }
  std::int64_t duplicates_dropped_count() const;
  // Classes with fewer than `threshold` images for training (train and validation splits).
  std::vector<std::string> small_classes(std::int64_t threshold = 5) const;
  nlohmann::json to_json() const;
};

struct DataSplits {
  Dataset train;
  Dataset validation;
  Dataset test;
  int num_classes = 10;
  std::vector<std::string> class_names;  // index = label
  space::InputShape shape;
  std::vector<float> mean;  // per channel, of the training split, in [0, 1] units
  std::vector<float> std;
  bool natural_images = false;  // horizontal flips make sense
  DataReport report;
};

// Loads (through the cache), cleans and splits; throws DataError naming the missing or
// malformed file, or the image and label outside the classes.
DataSplits load_splits(const DatasetSpec& spec);
// What load_splits would find, without throwing for labels outside the classes (they are listed
// in report.label_errors): for `nasforge data inspect`. Other bad input still throws.
DataReport inspect_data(const DatasetSpec& spec);

// Readers of the old formats, kept for their tests (the readers proper are in
// trainer/data/readers.h).
Dataset read_fashion_mnist(const std::string& dir, bool train);
Dataset read_cifar10(const std::string& dir, bool train);
// A small, learnable synthetic set (class-dependent blobs) for unit tests.
Dataset make_synthetic(std::int64_t count, int channels, int size, int classes, std::uint64_t seed);

}  // namespace nasforge::trainer
