#pragma once
// `nasforge data inspect`: what a dataset holds and what is wrong with it, without a search.
#include <iosfwd>
#include <optional>
#include <string>

#include "trainer/dataset.h"

namespace nasforge::search {

// Prints a data report: images per class and split, shapes found, skipped files, duplicates,
// train/test leakage, labels outside the classes and classes with fewer than 5 images.
void print_data_report(const trainer::DataReport& report, std::ostream& out);

// Inspects a dataset and prints its report. Throws DataError (exit 2) when the data cannot be
// read or labels fall outside the classes (after printing the report); warnings are not errors.
void inspect_dataset(const trainer::DatasetSpec& spec, std::ostream& out);

// The dataset that `data inspect CONFIG` reads: an experiment file's, or that of a file holding a
// dataset object ({...} or {"dataset": {...}}; a relative path is relative to the file).
trainer::DatasetSpec dataset_spec_from_file(const std::string& path);
// The dataset that `data inspect --format F --path P [--image-size N] [--channels C]` names
// (absent flags are nullopt; the values are checked as a dataset object's keys are).
trainer::DatasetSpec dataset_spec_from_flags(const std::optional<std::string>& format,
                                             const std::optional<std::string>& path,
                                             std::optional<int> image_size,
                                             std::optional<int> channels);

}  // namespace nasforge::search
