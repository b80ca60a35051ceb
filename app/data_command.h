#pragma once
// `nasforge data inspect`: what a dataset holds and what is wrong with it, without a search.
#include <iosfwd>
#include <map>
#include <string>
#include <vector>

#include "trainer/dataset.h"

namespace nasforge::search {

// Prints a data report: images per class and split, shapes found, skipped files, duplicates,
// train/test leakage, labels outside the classes and classes with fewer than 5 images.
void print_data_report(const trainer::DataReport& report, std::ostream& out);

// Inspects a dataset and prints its report. Throws DataError (exit 2) when the data cannot be
// read or labels fall outside the classes (after printing the report); warnings are not errors.
void inspect_dataset(const trainer::DatasetSpec& spec, std::ostream& out);

// The `data` verb: `data inspect CONFIG` (an experiment file, or a file holding a dataset
// object) or `data inspect --format F --path P [--image-size N] [--channels C]`.
void data_command(const std::vector<std::string>& positional,
                  const std::map<std::string, std::string>& options, std::ostream& out);

}  // namespace nasforge::search
