#include "tests/nasforge_catch.h"

#include <ATen/ATen.h>

#include <chrono>
#include <cstring>

#include "common/errors.h"
#include "tests/trainer/data/data_test_util.h"
#include "trainer/data/dataset_cache.h"
#include "trainer/data/source_loader.h"
#include "trainer/dataset.h"

using namespace nasforge;
using namespace nasforge::testing::data_util;
using trainer::CacheUse;

namespace {

trainer::SourceData small_source() {
  trainer::SourceData s;
  s.train.data = {at::arange(2 * 3 * 4 * 4, at::kLong).to(at::kByte).view({2, 3, 4, 4}),
                  at::tensor(std::vector<std::int64_t>{0, 1})};
  s.train.origins = {"a/cat/1.png", "a/dog/2.jpg"};
  s.validation = trainer::SourceSplit{};
  s.validation->data = {at::ones({1, 3, 4, 4}, at::kByte),
                        at::tensor(std::vector<std::int64_t>{1})};
  s.validation->images_file = "v.npy";
  s.validation->positions = {7};
  s.class_names = {"cat", "dog"};
  s.natural_images = true;
  s.skipped = {{"a/cat/notes.txt", "not an image"}};
  s.shapes_found = {{"4x4 RGB", 2}, {"8x8 gray", 1}};
  return s;
}

// A folder of `per_class` images per class, PNG and JPEG alternating, of mixed sizes.
void write_image_folder(const fs::path& root, int classes, int per_class, int size) {
  for (int c = 0; c < classes; ++c) {
    const auto dir = root / ("class" + std::to_string(c));
    for (int i = 0; i < per_class; ++i) {
      const int seed = c * 1000 + i;
      const int side = size + (i % 3) * 8;
      const auto pixels = pattern(side, side, 3, seed);
      if (i % 2 == 0) {
        write_bytes(dir / ("img" + std::to_string(i) + ".png"), encode_png(pixels, side, side, 3));
      } else {
        write_bytes(dir / ("img" + std::to_string(i) + ".jpg"), encode_jpeg(pixels, side, side, 3));
      }
    }
  }
}

trainer::DatasetSpec folder_spec(const TempDir& data, const TempDir& cache) {
  trainer::DatasetSpec spec;
  spec.name = "folder";
  spec.format = "image-folder";
  spec.path = data.str();
  spec.image_size = 32;
  spec.cache_dir = cache.str();
  spec.validation_fraction = 0.2;
  return spec;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST_CASE("a dataset cache round-trips a source exactly", "[data]") {
  TempDir dir("cache-rt");
  const auto file = dir.file("x.cache");
  const auto source = small_source();
  trainer::write_cache(file, "key-1", source);
  const auto back = trainer::read_cache(file, "key-1");
  REQUIRE(back.has_value());
  CHECK(back->train.data.images.equal(source.train.data.images));
  CHECK(back->train.data.labels.equal(source.train.data.labels));
  CHECK(back->train.origins == source.train.origins);
  REQUIRE(back->validation.has_value());
  CHECK(back->validation->origin(0) == "v.npy[7]");
  CHECK_FALSE(back->test.has_value());
  CHECK(back->class_names == source.class_names);
  CHECK(back->natural_images);
  REQUIRE(back->skipped.size() == 1);
  CHECK(back->skipped[0].reason == "not an image");
  CHECK(back->shapes_found == source.shapes_found);
  // Another content key (the source changed): stale, not used.
  CHECK_FALSE(trainer::read_cache(file, "key-2").has_value());
  CHECK_FALSE(trainer::read_cache(dir.file("missing.cache"), "key-1").has_value());
}

TEST_CASE("a corrupt dataset cache is rebuilt with a warning naming it, never trusted", "[data]") {
  TempDir dir("cache-corrupt");
  const auto file = dir.file("x.cache");
  trainer::write_cache(file, "k", small_source());
  const auto good = read_bytes(file);
  auto expect_warning = [&](const Bytes& bytes, const std::string& why) {
    write_bytes(file, bytes);
    CaptureStderr capture;
    CHECK_FALSE(trainer::read_cache(file, "k").has_value());
    CHECK_THAT(capture.text(),
               Catch::Contains(file + ": corrupt dataset cache (" + why + "); rebuilding it"));
  };
  auto flipped = good;
  flipped[flipped.size() - 5] ^= 0x40;
  expect_warning(flipped, "checksum mismatch");
  expect_warning(Bytes(good.begin(), good.end() - 10), "truncated");
  auto bad_magic = good;
  bad_magic[0] = 'X';
  expect_warning(bad_magic, "bad magic");
  expect_warning(Bytes(5, 0), "bad magic");
}

TEST_CASE("a dataset cache from another format version is a DataError saying to delete it",
          "[data]") {
  TempDir dir("cache-version");
  const auto file = dir.file("x.cache");
  trainer::write_cache(file, "k", small_source());
  auto bytes = read_bytes(file);
  const std::uint32_t other = trainer::kDataCacheVersion + 1;
  std::memcpy(bytes.data() + 8, &other, 4);
  write_bytes(file, bytes);
  CHECK_THROWS_AS(trainer::read_cache(file, "k"), DataError);
  CHECK_THROWS_WITH(trainer::read_cache(file, "k"),
                    Catch::Contains(file + ": dataset cache written by format v" +
                                    std::to_string(other) + ", this nasforge reads v" +
                                    std::to_string(trainer::kDataCacheVersion) + "; delete it"));
}

TEST_CASE(
    "an image folder is decoded once, the cache is read at least 5x faster, and a change "
    "rebuilds it",
    "[data]") {
  TempDir data("cache-folder"), cache("cache-dir");
  write_image_folder(data.path, 3, 100, 96);
  const auto spec = folder_spec(data, cache);

  auto start = std::chrono::steady_clock::now();
  CacheUse use;
  const auto decoded = trainer::load_source(spec, &use);
  const double decode_seconds = seconds_since(start);
  CHECK(use == CacheUse::kWritten);
  REQUIRE(decoded.train.size() == 300);

  double cached_seconds = 1e9;
  for (int repeat = 0; repeat < 3; ++repeat) {
    start = std::chrono::steady_clock::now();
    const auto cached = trainer::load_source(spec, &use);
    cached_seconds = std::min(cached_seconds, seconds_since(start));
    CHECK(use == CacheUse::kHit);
    CHECK(cached.train.data.images.equal(decoded.train.data.images));
    CHECK(cached.train.origins == decoded.train.origins);
  }
  std::printf(
      "image folder of 300 PNG/JPEG: decoded in %.4f s, read from the cache in %.4f s "
      "(%.1fx)\n",
      decode_seconds, cached_seconds, decode_seconds / cached_seconds);
  CHECK(decode_seconds / cached_seconds >= 5);
  CHECK(trainer::load_splits(spec).report.from_cache);

  // A changed file changes the key: the cache is stale and rebuilt.
  write_bytes(data.path / "class1" / "img0.png", encode_png(pattern(40, 40, 3, 77), 40, 40, 3));
  trainer::load_source(spec, &use);
  CHECK(use == CacheUse::kWritten);
  trainer::load_source(spec, &use);
  CHECK(use == CacheUse::kHit);

  // A corrupt cache is rebuilt, with a warning.
  const auto file = trainer::cache_key(spec).file;
  auto bytes = read_bytes(file);
  bytes[bytes.size() / 2] ^= 1;
  write_bytes(file, bytes);
  {
    CaptureStderr capture;
    trainer::load_source(spec, &use);
    CHECK_THAT(capture.text(), Catch::Contains("corrupt dataset cache (checksum mismatch)"));
  }
  CHECK(use == CacheUse::kWritten);

  // cache: false decodes every time.
  auto uncached = spec;
  uncached.cache = false;
  trainer::load_source(uncached, &use);
  CHECK(use == CacheUse::kNone);
}
