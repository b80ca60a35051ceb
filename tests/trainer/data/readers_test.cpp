#include "tests/nasforge_catch.h"

#include <ATen/ATen.h>
#include <sys/stat.h>

#include "common/errors.h"
#include "tests/trainer/data/data_test_util.h"
#include "trainer/data/numpy_array.h"
#include "trainer/data/readers.h"
#include "trainer/data/source_loader.h"
#include "trainer/dataset.h"

using namespace nasforge;
using namespace nasforge::testing::data_util;

namespace {

trainer::DatasetSpec spec_for(const std::string& format, const std::string& path) {
  trainer::DatasetSpec spec;
  spec.name = format;
  spec.format = format;
  spec.path = path;
  spec.validation_fraction = 0.2;
  return spec;
}

void write_idx_set(const TempDir& dir, const std::vector<int>& train_labels, int n_test = 20,
                   const std::string& suffix = "") {
  write_bytes(dir.path / ("train-images-idx3-ubyte" + suffix),
              idx_images(static_cast<int>(train_labels.size()), 4, 4));
  write_bytes(dir.path / ("train-labels-idx1-ubyte" + suffix), idx_labels(train_labels));
  write_bytes(dir.path / ("t10k-images-idx3-ubyte" + suffix), idx_images(n_test, 4, 4, 99));
  write_bytes(dir.path / ("t10k-labels-idx1-ubyte" + suffix),
              idx_labels(cyclic_labels(n_test, 10)));
}

}  // namespace

TEST_CASE("any IDX pair is read under its own name, with its own file names", "[data]") {
  TempDir dir("idx");
  write_idx_set(dir, cyclic_labels(100, 10));
  auto spec = spec_for("idx", dir.str());
  spec.name = "mnist";
  const auto splits = trainer::load_splits(spec);
  CHECK(splits.num_classes == 10);
  CHECK(splits.train.size() + splits.validation.size() == 100);
  CHECK(splits.validation.size() == 20);  // 2 per class
  CHECK(splits.test.size() == 20);
  CHECK(splits.shape.channels == 1);
  CHECK(splits.shape.height == 4);
  CHECK(splits.report.shapes_found.at("4x4 gray") == 100);

  TempDir renamed("kmnist");
  write_gz(renamed.path / "k49-train-imgs.gz", idx_images(30, 3, 3));
  write_gz(renamed.path / "k49-train-labels.gz", idx_labels(cyclic_labels(30, 3)));
  auto kmnist = spec_for("idx", renamed.str());
  kmnist.train_images = "k49-train-imgs";
  kmnist.train_labels = "k49-train-labels";
  const auto source = trainer::read_idx(kmnist);  // no test files: warned, no test split
  CHECK(source.train.size() == 30);
  CHECK_FALSE(source.test.has_value());
  kmnist.train_labels = "missing";
  CHECK_THROWS_WITH(trainer::read_idx(kmnist),
                    Catch::Contains("missing[.gz]: IDX file not found (set dataset.train_labels"));
}

TEST_CASE("a label of 200 in a 10-class IDX set is an error naming the file and label", "[data]") {
  TempDir dir("idx200");
  auto labels = cyclic_labels(200, 10);
  labels[123] = 200;
  write_idx_set(dir, labels);
  auto spec = spec_for("idx", dir.str());
  CHECK_THROWS_AS(trainer::load_splits(spec), DataError);
  CHECK_THROWS_WITH(trainer::load_splits(spec),
                    Catch::Contains("train-labels-idx1-ubyte[123]: label 200 is outside the 10 "
                                    "classes 0..9 (set dataset.num_classes if 201 classes are "
                                    "meant)"));
  // Declared, 201 classes are what is meant: it trains a 201-way network.
  spec.num_classes = 201;
  CHECK(trainer::load_splits(spec).num_classes == 201);
  // Declared 10: the message says so.
  spec.num_classes = 10;
  CHECK_THROWS_WITH(trainer::load_splits(spec),
                    Catch::Contains("train-labels-idx1-ubyte[123]: label 200 is outside the 10 "
                                    "classes 0..9 (dataset.num_classes is 10)"));
  // Inspection lists it instead of throwing.
  spec.num_classes = 0;
  const auto report = trainer::inspect_data(spec);
  REQUIRE(report.label_errors.size() == 1);
  CHECK_THAT(report.label_errors[0], Catch::Contains("[123]: label 200"));
}

TEST_CASE("a class with no training image is an error unless the classes are declared", "[data]") {
  TempDir dir("idxgap");
  std::vector<int> labels;
  for (int i = 0; i < 60; ++i) labels.push_back(i % 6 == 2 ? 5 : i % 6);  // no class 2
  write_idx_set(dir, labels, 0);
  auto spec = spec_for("idx", dir.str());
  CHECK_THROWS_WITH(trainer::load_splits(spec),
                    Catch::Contains("class(es) 2 have no training image; set dataset.num_classes"));
  spec.num_classes = 6;
  CHECK(trainer::load_splits(spec).num_classes == 6);
}

TEST_CASE("IDX images and labels of different counts are a DataError naming both", "[data]") {
  TempDir dir("idxcount");
  write_bytes(dir.path / "train-images-idx3-ubyte", idx_images(10, 4, 4));
  write_bytes(dir.path / "train-labels-idx1-ubyte", idx_labels(cyclic_labels(9, 3)));
  CHECK_THROWS_WITH(trainer::read_idx(spec_for("idx", dir.str())),
                    Catch::Contains("train-images-idx3-ubyte: 10 images but") &&
                        Catch::Contains("train-labels-idx1-ubyte has 9 labels"));
}

TEST_CASE("an unreadable file is a DataError naming it", "[data]") {
  if (::geteuid() == 0) {
    // root reads any file: make it unreadable by making it a folder instead.
    TempDir dir("unreadable");
    write_bytes(dir.path / "train-images-idx3-ubyte", idx_images(10, 4, 4));
    fs::create_directories(dir.path / "train-labels-idx1-ubyte");
    CHECK_THROWS_WITH(trainer::read_idx(spec_for("idx", dir.str())),
                      Catch::Contains("train-labels-idx1-ubyte: "));
    return;
  }
  TempDir dir("unreadable");
  write_idx_set(dir, cyclic_labels(20, 2));
  ::chmod((dir.path / "train-labels-idx1-ubyte").c_str(), 0);
  CHECK_THROWS_WITH(trainer::read_idx(spec_for("idx", dir.str())),
                    Catch::Contains("train-labels-idx1-ubyte: cannot open (Permission denied)"));
}

TEST_CASE("CIFAR-100 binary files give the fine or the coarse label", "[data]") {
  TempDir dir("cifar100");
  auto records = [](int n, int salt) {
    Bytes b;
    for (int i = 0; i < n; ++i) {
      b.push_back(static_cast<std::uint8_t>(i % 20));   // coarse
      b.push_back(static_cast<std::uint8_t>(i % 100));  // fine
      for (int p = 0; p < 3072; ++p) {
        b.push_back(static_cast<std::uint8_t>(p == 0 ? i : p == 1 ? i >> 8 : (p + salt) & 0xff));
      }
    }
    return b;
  };
  fs::create_directories(dir.path / "cifar-100-binary");
  write_bytes(dir.path / "cifar-100-binary" / "train.bin", records(400, 0));
  write_bytes(dir.path / "cifar-100-binary" / "test.bin", records(100, 7));
  auto spec = spec_for("cifar100", dir.str());
  spec.validation_fraction = 0.25;
  auto splits = trainer::load_splits(spec);
  CHECK(splits.num_classes == 100);
  CHECK(splits.shape.channels == 3);
  CHECK(splits.shape.height == 32);
  CHECK(splits.natural_images);
  CHECK(splits.validation.size() == 100);  // 1 of each class's 4
  CHECK(splits.test.size() == 100);
  spec.label = "coarse";
  splits = trainer::load_splits(spec);
  CHECK(splits.num_classes == 20);
  CHECK(splits.test.labels[27].item<std::int64_t>() == 7);
  write_bytes(dir.path / "cifar-100-binary" / "test.bin", Bytes(3000, 1));
  CHECK_THROWS_WITH(trainer::load_splits(spec),
                    Catch::Contains("test.bin: not a CIFAR-100 binary file (size 3000 is not a "
                                    "multiple of 3074"));
}

TEST_CASE("NumPy .npy files: NHWC, NCHW or NHW uint8 images and any integer labels", "[data]") {
  TempDir dir("npy");
  const int n = 40;
  Bytes nhwc;
  for (int i = 0; i < n; ++i) {
    for (int p = 0; p < 5 * 6 * 3; ++p) nhwc.push_back(static_cast<std::uint8_t>(i * 3 + p));
  }
  std::vector<long> labels;
  for (int i = 0; i < n; ++i) labels.push_back(i % 4);
  write_bytes(dir.path / "x_train.npy", npy("|u1", {n, 5, 6, 3}, nhwc));
  write_bytes(dir.path / "y_train.npy", npy("<i8", {n}, le_ints(labels, 8)));
  write_bytes(dir.path / "x_test.npy", npy("|u1", {n, 5, 6, 3}, nhwc));
  write_bytes(dir.path / "y_test.npy", npy("<u2", {n, 1}, le_ints(labels, 2)));
  auto spec = spec_for("numpy", dir.str());
  auto source = trainer::read_numpy(spec);
  REQUIRE(source.train.data.images.sizes() == at::IntArrayRef({n, 3, 5, 6}));
  // Pixel (image 1, row 0, col 1, channel 2) of NHWC is at offset 1*90 + 1*3 + 2.
  CHECK(source.train.data.images[1][2][0][1].item<int>() == (3 + 5) % 256);
  CHECK(source.test->data.labels[5].item<std::int64_t>() == 1);
  auto splits = trainer::load_splits(spec);
  CHECK(splits.num_classes == 4);
  CHECK(splits.report.leakage == n);  // the test arrays are the training arrays

  // NCHW detected by a channel dimension in position 1; NHW is gray.
  write_bytes(dir.path / "x_train.npy", npy("|u1", {n, 1, 7, 7}, Bytes(n * 49, 3)));
  write_bytes(dir.path / "y_train.npy", npy("|i1", {n}, le_ints(labels, 1)));
  fs::remove(dir.path / "x_test.npy");
  fs::remove(dir.path / "y_test.npy");
  CHECK(trainer::read_numpy(spec).train.data.images.sizes() == at::IntArrayRef({n, 1, 7, 7}));
  write_bytes(dir.path / "x_train.npy", npy("|u1", {n, 7, 7}, Bytes(n * 49, 3)));
  write_bytes(dir.path / "y_train.npy", npy(">i4", {n}, [&] {
                Bytes b;
                for (long l : labels) {
                  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(l >> s));
                }
                return b;
              }()));
  source = trainer::read_numpy(spec);
  CHECK(source.train.data.images.sizes() == at::IntArrayRef({n, 1, 7, 7}));
  CHECK(source.train.data.labels[3].item<std::int64_t>() == 3);
}

TEST_CASE("an .npz archive is read through libzip, arrays by name", "[data]") {
  TempDir dir("npz");
  const int n = 24;
  Bytes images(static_cast<size_t>(n * 8 * 8));
  for (size_t i = 0; i < images.size(); ++i) images[i] = static_cast<std::uint8_t>(i * 13 / 7);
  std::vector<long> labels;
  for (int i = 0; i < n; ++i) labels.push_back(i % 3);
  write_npz(dir.path / "mnist.npz", {{"x_train", npy("|u1", {n, 8, 8}, images)},
                                     {"y_train", npy("<i4", {n}, le_ints(labels, 4))},
                                     {"x_test", npy("|u1", {6, 8, 8}, Bytes(6 * 64, 9))},
                                     {"y_test", npy("<i4", {6}, le_ints({0, 1, 2, 0, 1, 2}, 4))}});
  auto spec = spec_for("numpy", dir.file("mnist.npz"));
  auto source = trainer::read_numpy(spec);
  CHECK(source.train.size() == n);
  CHECK(source.test->size() == 6);
  CHECK(source.train.data.labels[4].item<std::int64_t>() == 1);
  CHECK(source.train.origin(5) == dir.file("mnist.npz") + ":x_train[5]");
  auto by_key = spec_for("numpy", dir.str());
  by_key.arrays = "mnist.npz";
  by_key.train_images = "pictures";
  CHECK_THROWS_WITH(trainer::read_numpy(by_key),
                    Catch::Contains("mnist.npz: no array 'pictures' in the archive (it holds: "
                                    "x_train, y_train, x_test, y_test)"));
  write_bytes(dir.path / "broken.npz", Bytes(100, 7));
  CHECK_THROWS_WITH(trainer::read_numpy(spec_for("numpy", dir.file("broken.npz"))),
                    Catch::Contains("broken.npz: cannot read as an .npz archive"));
}

TEST_CASE("an .npy with the wrong dtype or rank, or counts that differ, is a DataError", "[data]") {
  TempDir dir("npybad");
  auto spec = spec_for("numpy", dir.str());
  const std::vector<long> labels = {0, 1, 0, 1};
  write_bytes(dir.path / "y_train.npy", npy("<i8", {4}, le_ints(labels, 8)));

  write_bytes(dir.path / "x_train.npy", npy("<f4", {4, 2, 2}, Bytes(4 * 4 * 4, 0)));
  CHECK_THROWS_WITH(
      trainer::read_numpy(spec),
      Catch::Contains("x_train.npy: images have dtype float32 ('<f4'); expected uint8"));
  write_bytes(dir.path / "x_train.npy", npy("|u1", {4, 4}, Bytes(16, 0)));
  CHECK_THROWS_WITH(trainer::read_numpy(spec),
                    Catch::Contains("x_train.npy: images have shape (4, 4) (rank 2); expected"));
  write_bytes(dir.path / "x_train.npy", npy("|u1", {4, 5, 5, 5}, Bytes(500, 0)));
  CHECK_THROWS_WITH(trainer::read_numpy(spec), Catch::Contains("no channel dimension of 1 or 3") &&
                                                   Catch::Contains("set dataset.layout"));
  write_bytes(dir.path / "x_train.npy", npy("|u1", {4, 2, 2}, Bytes(15, 0)));
  CHECK_THROWS_WITH(trainer::read_numpy(spec),
                    Catch::Contains("x_train.npy: truncated .npy file (15 of 16 data bytes"));
  write_bytes(dir.path / "x_train.npy", npy("|u1", {5, 2, 2}, Bytes(20, 0)));
  CHECK_THROWS_WITH(trainer::read_numpy(spec), Catch::Contains("x_train.npy: 5 images but") &&
                                                   Catch::Contains("y_train.npy has 4 labels"));
  write_bytes(dir.path / "x_train.npy", npy("|u1", {4, 2, 2}, Bytes(16, 0)));
  write_bytes(dir.path / "y_train.npy", npy("<f8", {4}, Bytes(32, 0)));
  CHECK_THROWS_WITH(trainer::read_numpy(spec),
                    Catch::Contains("y_train.npy: labels have dtype float64 ('<f8'); expected an "
                                    "integer dtype"));
  write_bytes(dir.path / "y_train.npy", npy("<i8", {2, 2}, le_ints(labels, 8)));
  CHECK_THROWS_WITH(trainer::read_numpy(spec),
                    Catch::Contains("y_train.npy: labels have shape (2, 2) (rank 2)"));
  write_bytes(dir.path / "y_train.npy", Bytes{'n', 'o', 'p', 'e', 0, 0, 0, 0, 0, 0, 0});
  CHECK_THROWS_WITH(trainer::read_numpy(spec),
                    Catch::Contains("y_train.npy: not a .npy file (bad magic string)"));
}
