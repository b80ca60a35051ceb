#include "tests/nasforge_catch.h"

#include <ATen/ATen.h>

#include <set>

#include "tests/trainer/data/data_test_util.h"
#include "trainer/data/cleaning.h"
#include "trainer/dataset.h"

using namespace nasforge;
using namespace nasforge::testing::data_util;

namespace {

// 4x4 gray images whose content is `ids[i]` (equal ids: identical images).
Bytes images_of(const std::vector<int>& ids) {
  Bytes b;
  for (int id : ids) {
    for (int p = 0; p < 16; ++p) {
      b.push_back(static_cast<std::uint8_t>(p == 0 ? id & 0xff : p == 1 ? id >> 8 : p * 5));
    }
  }
  return b;
}

// A NumPy source: training images with the given content ids and labels, and a test split.
trainer::DatasetSpec numpy_set(const TempDir& dir, const std::vector<int>& ids,
                               const std::vector<long>& labels, const std::vector<int>& test_ids,
                               const std::vector<long>& test_labels) {
  const auto n = static_cast<long>(ids.size());
  write_bytes(dir.path / "x_train.npy", npy("|u1", {n, 4, 4}, images_of(ids)));
  write_bytes(dir.path / "y_train.npy", npy("<i8", {n}, le_ints(labels, 8)));
  const auto m = static_cast<long>(test_ids.size());
  write_bytes(dir.path / "x_test.npy", npy("|u1", {m, 4, 4}, images_of(test_ids)));
  write_bytes(dir.path / "y_test.npy", npy("<i8", {m}, le_ints(test_labels, 8)));
  trainer::DatasetSpec spec;
  spec.name = "numbers";
  spec.format = "numpy";
  spec.path = dir.str();
  return spec;
}

std::set<int> ids_of(const trainer::Dataset& d) {
  std::set<int> ids;
  for (std::int64_t i = 0; i < d.size(); ++i) {
    ids.insert(d.images[i][0][0][0].item<int>() + 256 * d.images[i][0][0][1].item<int>());
  }
  return ids;
}

}  // namespace

TEST_CASE("exact duplicates within a split are found byte for byte, the first kept", "[data]") {
  trainer::SourceSplit split;
  const std::vector<int> ids = {7, 8, 7, 9, 8, 7};
  split.data.images = at::from_blob(images_of(ids).data(), {6, 1, 4, 4}, at::kByte).clone();
  split.data.labels = at::zeros({6}, at::kLong);
  split.images_file = "x.npy";
  const auto found = trainer::find_duplicates(split);
  CHECK(found.keep == std::vector<std::int64_t>{0, 1, 3});
  CHECK(found.count == 3);
  REQUIRE(found.examples.size() == 3);
  CHECK(found.examples[0].kept == "x.npy[0]");
  CHECK(found.examples[0].dropped == "x.npy[2]");
  CHECK(found.examples[1].kept == "x.npy[1]");
  CHECK(found.examples[1].dropped == "x.npy[4]");
  const auto kept = split.select(found.keep);
  CHECK(kept.origin(2) == "x.npy[3]");  // origins follow the selection
}

TEST_CASE("duplicates are dropped (or only counted) and train/test leakage is reported", "[data]") {
  TempDir dir("dups");
  std::vector<int> ids;
  std::vector<long> labels;
  for (int i = 0; i < 40; ++i) {
    ids.push_back(i);
    labels.push_back(i % 2);
  }
  for (int i = 0; i < 10; ++i) {  // ten repeats of earlier images
    ids.push_back(i * 3);
    labels.push_back((i * 3) % 2);
  }
  auto spec = numpy_set(dir, ids, labels, {1000, 5, 6, 7, 1001}, {0, 1, 0, 1, 1});
  auto splits = trainer::load_splits(spec);
  CHECK(splits.report.duplicates.at("train") == 10);
  CHECK(splits.report.duplicates_dropped_count() == 10);
  CHECK(splits.train.size() + splits.validation.size() == 40);
  CHECK(splits.report.leakage == 3);
  CHECK(splits.test.size() == 5);  // leaked test images are reported, not dropped
  REQUIRE(splits.report.leakage_examples.size() == 3);
  CHECK_THAT(splits.report.leakage_examples[0].kept, Catch::EndsWith("x_train.npy[5]"));
  CHECK_THAT(splits.report.leakage_examples[0].dropped, Catch::EndsWith("x_test.npy[1]"));
  const auto json = splits.report.to_json();
  CHECK(json.at("duplicates_dropped") == 10);
  CHECK(json.at("leakage") == 3);

  spec.drop_duplicates = false;
  splits = trainer::load_splits(spec);
  CHECK(splits.report.duplicates.at("train") == 10);
  CHECK(splits.report.duplicates_dropped_count() == 0);
  CHECK(splits.train.size() + splits.validation.size() == 50);
}

TEST_CASE("the validation split is stratified and fixed by split_seed", "[data]") {
  TempDir dir("strat");
  std::vector<int> ids;
  std::vector<long> labels;
  const std::vector<int> sizes = {50, 10, 3, 1};
  for (size_t c = 0; c < sizes.size(); ++c) {
    for (int i = 0; i < sizes[c]; ++i) {
      ids.push_back(static_cast<int>(ids.size()));
      labels.push_back(static_cast<long>(c));
    }
  }
  auto spec = numpy_set(dir, ids, labels, {2000, 2001}, {0, 1});
  spec.validation_fraction = 0.1;
  const auto splits = trainer::load_splits(spec);
  // round(0.1 * n_c), at least 1 for classes of 2 or more images, none for a class of 1.
  CHECK(splits.report.per_class.at("validation") == std::vector<std::int64_t>{5, 1, 1, 0});
  CHECK(splits.report.per_class.at("train") == std::vector<std::int64_t>{45, 9, 2, 1});
  CHECK(splits.report.small_classes() == std::vector<std::string>{"2", "3"});
  const auto train_ids = ids_of(splits.train), val_ids = ids_of(splits.validation);
  for (int id : val_ids) CHECK(train_ids.count(id) == 0);
  CHECK(train_ids.size() + val_ids.size() == ids.size());

  const auto again = trainer::load_splits(spec);
  CHECK(ids_of(again.validation) == val_ids);
  spec.split_seed = 1;
  CHECK(ids_of(trainer::load_splits(spec).validation) != val_ids);
  spec.train_subset = 20;
  const auto subset = trainer::load_splits(spec);
  CHECK(subset.train.size() == 20);
  CHECK(subset.validation.size() == 7);
}

TEST_CASE("a single class, or none, is a DataError", "[data]") {
  TempDir dir("oneclass");
  auto spec = numpy_set(dir, {1, 2, 3, 4}, {0, 0, 0, 0}, {9}, {0});
  CHECK_THROWS_WITH(trainer::load_splits(spec),
                    Catch::Contains("only one class (label 0) in the training split"));
  spec = numpy_set(dir, {1, 2, 3, 4}, {0, 1, 0, -1}, {9}, {0});
  CHECK_THROWS_WITH(trainer::load_splits(spec),
                    Catch::Contains("y_train.npy[3]: label -1 is negative"));
}
