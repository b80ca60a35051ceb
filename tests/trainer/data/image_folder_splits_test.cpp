// The image-folder source end to end, through load_splits: splits, cleaning and every bad input
// the issue lists for folders.
#include "tests/nasforge_catch.h"

#include <ATen/ATen.h>
#include <sys/stat.h>

#include <cstring>

#include "common/errors.h"
#include "tests/trainer/data/data_test_util.h"
#include "trainer/data/dataset_cache.h"
#include "trainer/dataset.h"

using namespace nasforge;
using namespace nasforge::testing::data_util;

namespace {

void add_png(const fs::path& file, int seed, int side = 16) {
  write_bytes(file, encode_png(pattern(side, side, 3, seed), side, side, 3));
}

void add_jpeg(const fs::path& file, int seed, int side = 16) {
  write_bytes(file, encode_jpeg(pattern(side, side, 3, seed), side, side, 3));
}

trainer::DatasetSpec folder(const fs::path& root, const TempDir& cache) {
  trainer::DatasetSpec spec;
  spec.name = "pictures";
  spec.format = "image-folder";
  spec.path = root.string();
  spec.image_size = 16;
  spec.cache_dir = cache.str();
  spec.validation_fraction = 0.25;
  return spec;
}

}  // namespace

TEST_CASE("an image folder is cleaned and split, a val/ folder is used as is", "[data]") {
  TempDir dir("folder-splits"), cache("folder-cache");
  const auto root = dir.path / "flat";
  for (int i = 0; i < 8; ++i) add_png(root / "cat" / (std::to_string(i) + ".png"), i);
  for (int i = 0; i < 8; ++i) add_jpeg(root / "dog" / (std::to_string(i) + ".jpg"), 100 + i);
  add_png(root / "cat" / "copy.png", 3);  // an exact duplicate of cat/3.png
  write_bytes(root / "dog" / "notes.txt", Bytes{'h', 'i'});
  auto splits = trainer::load_splits(folder(root, cache));
  CHECK(splits.num_classes == 2);
  CHECK(splits.class_names == std::vector<std::string>{"cat", "dog"});
  CHECK(splits.report.duplicates.at("train") == 1);
  CHECK(splits.report.per_class.at("validation") == std::vector<std::int64_t>{2, 2});
  CHECK(splits.report.per_class.at("train") == std::vector<std::int64_t>{6, 6});
  REQUIRE(splits.report.skipped.size() == 1);
  CHECK_THAT(splits.report.skipped[0].first, Catch::EndsWith("notes.txt"));
  CHECK(splits.test.size() == 0);
  CHECK(splits.test.images.defined());  // empty, not undefined: callers can ask its size

  const auto split_root = dir.path / "split";
  for (int i = 0; i < 6; ++i) {
    add_png(split_root / "train" / "cat" / (std::to_string(i) + ".png"), i);
    add_png(split_root / "train" / "dog" / (std::to_string(i) + ".png"), 50 + i);
  }
  add_png(split_root / "val" / "cat" / "v.png", 200);
  add_png(split_root / "val" / "dog" / "v.png", 201);
  add_png(split_root / "test" / "cat" / "t.png", 0);  // the same image as train/cat/0.png
  add_png(split_root / "test" / "dog" / "t.png", 301);
  splits = trainer::load_splits(folder(split_root, cache));
  CHECK(splits.train.size() == 12);
  CHECK(splits.validation.size() == 2);
  CHECK(splits.test.size() == 2);
  CHECK(splits.report.leakage == 1);
  CHECK_THAT(splits.report.leakage_examples.at(0).dropped, Catch::EndsWith("test/cat/t.png"));
}

TEST_CASE("bad image folders give one DataError naming the folder and the problem", "[data]") {
  TempDir dir("folder-bad"), cache("folder-bad-cache");
  SECTION("an empty folder") {
    fs::create_directories(dir.path / "empty");
    CHECK_THROWS_AS(trainer::load_splits(folder(dir.path / "empty", cache)), DataError);
    CHECK_THROWS_WITH(trainer::load_splits(folder(dir.path / "empty", cache)),
                      Catch::Contains("empty") && Catch::Contains("no class sub-folders"));
  }
  SECTION("a folder with one class") {
    add_png(dir.path / "one" / "cat" / "a.png", 1);
    add_png(dir.path / "one" / "cat" / "b.png", 2);
    CHECK_THROWS_WITH(trainer::load_splits(folder(dir.path / "one", cache)),
                      Catch::Contains("only one class folder ('cat')"));
  }
  SECTION("a class folder with no readable image") {
    add_png(dir.path / "noimg" / "cat" / "a.png", 1);
    add_png(dir.path / "noimg" / "cat" / "b.png", 2);
    write_bytes(dir.path / "noimg" / "dog" / "readme.txt", Bytes{'x'});
    CHECK_THROWS_WITH(trainer::load_splits(folder(dir.path / "noimg", cache)),
                      Catch::Contains("class 'dog'") && Catch::Contains("no readable image") &&
                          Catch::Contains("readme.txt"));
  }
  SECTION("nothing but non-image files") {
    write_bytes(dir.path / "text" / "cat" / "a.txt", Bytes{'x'});
    write_bytes(dir.path / "text" / "dog" / "b.txt", Bytes{'y'});
    CHECK_THROWS_WITH(trainer::load_splits(folder(dir.path / "text", cache)),
                      Catch::Contains("is a readable PNG or JPEG image"));
  }
  SECTION("a truncated JPEG is skipped and counted") {
    const auto root = dir.path / "trunc";
    for (int i = 0; i < 4; ++i) {
      add_jpeg(root / "cat" / (std::to_string(i) + ".jpg"), i);
      add_jpeg(root / "dog" / (std::to_string(i) + ".jpg"), 10 + i);
    }
    const auto whole = encode_jpeg(pattern(64, 64, 3, 99), 64, 64, 3);
    write_bytes(root / "dog" / "cut.jpg", Bytes(whole.begin(), whole.begin() + whole.size() / 2));
    const auto splits = trainer::load_splits(folder(root, cache));
    REQUIRE(splits.report.skipped.size() == 1);
    CHECK_THAT(splits.report.skipped[0].first, Catch::EndsWith("cut.jpg"));
    CHECK_THAT(splits.report.skipped[0].second, Catch::Contains("truncated JPEG"));
    CHECK(splits.report.to_json().at("skipped_count") == 1);
  }
  SECTION("an unreadable file is skipped and counted") {
    const auto root = dir.path / "perm";
    for (int i = 0; i < 3; ++i) {
      add_png(root / "cat" / (std::to_string(i) + ".png"), i);
      add_png(root / "dog" / (std::to_string(i) + ".png"), 10 + i);
    }
    const auto locked = root / "dog" / "locked.png";
    add_png(locked, 77);
    ::chmod(locked.c_str(), 0);
    if (::geteuid() != 0) {  // root reads it anyway
      const auto splits = trainer::load_splits(folder(root, cache));
      REQUIRE(splits.report.skipped.size() == 1);
      CHECK_THAT(splits.report.skipped[0].first, Catch::EndsWith("locked.png"));
    }
  }
  SECTION("a cache file from another format version") {
    const auto root = dir.path / "ok";
    for (int i = 0; i < 3; ++i) {
      add_png(root / "cat" / (std::to_string(i) + ".png"), i);
      add_png(root / "dog" / (std::to_string(i) + ".png"), 10 + i);
    }
    const auto spec = folder(root, cache);
    trainer::load_splits(spec);
    const auto file = trainer::cache_key(spec).file;
    auto bytes = read_bytes(file);
    const std::uint32_t other = 99;
    std::memcpy(bytes.data() + 8, &other, 4);
    write_bytes(file, bytes);
    CHECK_THROWS_AS(trainer::load_splits(spec), DataError);
    CHECK_THROWS_WITH(trainer::load_splits(spec),
                      Catch::Contains(file + ": dataset cache written by format v99") &&
                          Catch::Contains("delete it"));
  }
}
