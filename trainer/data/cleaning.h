#pragma once
// Cleaning a decoded source before it is split: exact duplicates (same decoded bytes) within a
// split, test images that also appear in training (leakage), and labels outside the classes.
#include <cstdint>
#include <string>
#include <vector>

#include "trainer/data/source.h"

namespace nasforge::trainer {

struct Duplicates {
  std::vector<std::int64_t> keep;  // the first image of each distinct content, in order
  std::int64_t count = 0;          // images that repeat an earlier one
  std::vector<DuplicatePair> examples;
};

// Exact duplicates within a split: hashed in parallel, candidates compared byte for byte.
Duplicates find_duplicates(const SourceSplit& split, size_t max_examples = 10);

// Images of `test` whose bytes also appear in one of `reference` (train, validation).
std::int64_t count_leakage(const std::vector<const SourceSplit*>& reference,
                           const SourceSplit& test, std::vector<DuplicatePair>& examples,
                           size_t max_examples = 10);

struct LabelCheck {
  int num_classes = 0;
  std::vector<std::string> class_names;  // index = label
  std::vector<std::string> errors;       // the first few, each naming the image and its label
  std::int64_t error_count = 0;
};

// The classes: declared (spec.num_classes / class_names, or the source's class folders) or
// discovered (max label + 1, every class present in training). Labels outside them are errors,
// listed, not thrown; fewer than 2 classes or no training image is a DataError.
LabelCheck check_labels(const SourceData& source, const DatasetSpec& spec);

}  // namespace nasforge::trainer
