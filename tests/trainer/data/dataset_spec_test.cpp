#include "tests/nasforge_catch.h"

#include <nlohmann/json.hpp>

#include "common/errors.h"
#include "trainer/dataset.h"

using namespace nasforge;
using nlohmann::json;
using trainer::DatasetSpec;

namespace {

DatasetSpec parse(const std::string& text) {
  return DatasetSpec::from_json(json::parse(text), "dataset");
}

}  // namespace

TEST_CASE("old dataset objects keep their meaning", "[data]") {
  const auto fashion = parse("{}");
  CHECK(fashion.format == "idx");
  CHECK(fashion.name == "fashion-mnist");
  CHECK(fashion.path == "/usr/share/datasets/fashion-mnist");
  const auto named = parse(R"({"name": "fashion-mnist", "validation_fraction": 0.2})");
  CHECK(named.format == "idx");
  CHECK(named.validation_fraction == 0.2);
  const auto cifar = parse(R"({"name": "cifar10", "path": "/data/cifar"})");
  CHECK(cifar.format == "cifar10");
  CHECK(cifar.path == "/data/cifar");
  CHECK(parse(R"({"name": "synthetic"})").format == "synthetic");
  CHECK_THROWS_WITH(parse(R"({"name": "cifar10"})"), Catch::Contains("dataset.path: required"));
}

TEST_CASE("format chooses the reader, name is a free label", "[data]") {
  const auto mnist = parse(R"({"name": "mnist", "format": "idx", "path": "/data/mnist"})");
  CHECK(mnist.format == "idx");
  CHECK(mnist.name == "mnist");
  CHECK(parse(R"({"format": "idx", "path": "/d"})").name == "idx");
  CHECK(parse(R"({"format": "idx"})").path == "/usr/share/datasets/fashion-mnist");
  CHECK_THROWS_WITH(parse(R"({"name": "my-digits", "path": "/d"})"),
                    Catch::Contains("dataset.format: required for dataset 'my-digits'") &&
                        Catch::Contains("image-folder"));
  CHECK_THROWS_WITH(
      parse(R"({"format": "tfrecord", "path": "/d"})"),
      Catch::Contains("dataset.format: unknown format 'tfrecord'") &&
          Catch::Contains("idx, cifar10, cifar100, numpy, image-folder or synthetic"));
  CHECK_THROWS_WITH(parse(R"({"format": "numpy"})"), Catch::Contains("dataset.path: required"));
}

TEST_CASE("every dataset key is validated with a message naming it", "[data]") {
  CHECK_THROWS_WITH(parse(R"({"format": "image-folder", "path": "/d", "image_size": 0})"),
                    Catch::Contains("dataset.image_size: 0 is not valid; it must be > 0"));
  CHECK_THROWS_AS(parse(R"({"format": "image-folder", "path": "/d", "image_size": 0})"),
                  ConfigError);
  CHECK_THROWS_WITH(parse(R"({"format": "image-folder", "path": "/d", "channels": 2})"),
                    Catch::Contains("dataset.channels: 2 is not valid; expected 1 (gray), 3"));
  CHECK_THROWS_WITH(
      parse(R"({"format": "idx", "path": "/d", "image_size": 28})"),
      Catch::Contains("dataset.image_size: only read by format image-folder, not idx"));
  CHECK_THROWS_WITH(
      parse(R"({"format": "cifar100", "path": "/d", "label": "medium"})"),
      Catch::Contains("dataset.label: 'medium' is not valid; expected one of coarse, fine"));
  CHECK_THROWS_WITH(parse(R"({"format": "cifar10", "path": "/d", "label": "fine"})"),
                    Catch::Contains("dataset.label: only read by format cifar100"));
  CHECK_THROWS_WITH(
      parse(R"({"format": "numpy", "path": "/d", "layout": "hwc"})"),
      Catch::Contains("dataset.layout: 'hwc' is not valid; expected one of auto, nchw, nhwc"));
  CHECK_THROWS_WITH(parse(R"({"format": "cifar10", "path": "/d", "train_images": "x"})"),
                    Catch::Contains("dataset.train_images: only read by format idx or numpy"));
  CHECK_THROWS_WITH(parse(R"({"format": "idx", "path": "/d", "num_classes": 1})"),
                    Catch::Contains("dataset.num_classes: 1 is out of range [2,"));
  CHECK_THROWS_WITH(parse(R"({"format": "idx", "path": "/d", "class_names": ["a", "a"]})"),
                    Catch::Contains("dataset.class_names[1]: 'a' appears twice"));
  CHECK_THROWS_WITH(
      parse(R"({"format": "idx", "path": "/d", "class_names": ["a", "b"], "num_classes": 3})"),
      Catch::Contains("dataset.class_names: 2 names but num_classes is 3"));
  CHECK_THROWS_WITH(parse(R"({"format": "idx", "path": "/d", "drop_duplicates": "yes"})"),
                    Catch::Contains("dataset.drop_duplicates: expected a boolean"));
  CHECK_THROWS_WITH(parse(R"({"format": "idx", "path": "/d", "validation_fraction": 1})"),
                    Catch::Contains("dataset.validation_fraction: must be in (0, 1)"));
  CHECK_THROWS_WITH(parse(R"({"format": "idx", "path": "/d", "imagesize": 3})"),
                    Catch::Contains("dataset: unknown key \"imagesize\""));
}

TEST_CASE("a dataset spec round-trips through JSON", "[data]") {
  for (
      const char* text : {
          R"({})",
          R"({"name": "cifar10", "path": "/c"})",
          R"({"name": "kmnist", "format": "idx", "path": "/k", "train_images": "a", "test_labels": "b"})",
          R"({"format": "cifar100", "path": "/c", "label": "coarse", "split_seed": 3})",
          R"({"format": "numpy", "path": "/n", "arrays": "d.npz", "layout": "nchw", "num_classes": 10})",
          R"({"format": "image-folder", "path": "/i", "image_size": 32, "channels": 3,
               "class_names": ["cat", "dog"], "drop_duplicates": false, "cache": false,
               "cache_dir": "/tmp/c", "train_subset": 100, "validation_fraction": 0.25})",
          R"({"format": "synthetic"})",
      }) {
    const auto spec = parse(text);
    const auto again = DatasetSpec::from_json(spec.to_json(), "dataset");
    CHECK(again.to_json() == spec.to_json());
  }
  const auto folder = parse(R"({"format": "image-folder", "path": "/i", "image_size": 32})");
  CHECK(folder.image_size == 32);
  CHECK(folder.drop_duplicates);
  CHECK(folder.cache);
}
