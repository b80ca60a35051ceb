// The data side of the CLI: `nasforge data inspect`, a search on an image folder with its data
// report recorded, and bad datasets refused before any database exists.
#include "tests/nasforge_catch.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "store/sqlite_store.h"
#include "tests/search/cli_helpers.h"
#include "tests/trainer/data/data_test_util.h"

using namespace nasforge;
using nasforge::testing::run_cli;
using nasforge::testing::write_json;
namespace du = nasforge::testing::data_util;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// Two classes of 12 small PNG and JPEG images of mixed sizes and modes, one exact duplicate,
// one truncated JPEG, and a test folder sharing one image with training.
std::string file_name(const char* prefix, int i, const char* extension) {
  std::string name = prefix;  // (appending, not "c" + string: GCC 12 warns on that falsely)
  name += std::to_string(i);
  name += extension;
  return name;
}

void write_folder(const fs::path& root) {
  for (int i = 0; i < 12; ++i) {
    const int side = 12 + (i % 3) * 4;
    const auto rgb = du::pattern(side, side, 3, i);
    du::write_bytes(root / "train" / "cat" / file_name("c", i, ".png"),
                    i % 4 == 0 ? du::encode_png(du::pattern(side, side, 1, i), side, side, 1)
                               : du::encode_png(rgb, side, side, 3));
    du::write_bytes(root / "train" / "dog" / file_name("d", i, ".jpg"),
                    du::encode_jpeg(du::pattern(side, side, 3, 50 + i), side, side, 3));
  }
  du::write_bytes(root / "train" / "cat" / "copy.png",
                  du::read_bytes(root / "train" / "cat" / "c1.png"));
  const auto whole = du::encode_jpeg(du::pattern(40, 40, 3, 99), 40, 40, 3);
  du::write_bytes(root / "train" / "dog" / "cut.jpg",
                  du::Bytes(whole.begin(), whole.begin() + whole.size() / 2));
  du::write_bytes(root / "test" / "cat" / "t.png",
                  du::read_bytes(root / "train" / "cat" / "c2.png"));
  du::write_bytes(root / "test" / "dog" / "t.jpg",
                  du::encode_jpeg(du::pattern(16, 16, 3, 200), 16, 16, 3));
}

json folder_experiment(const std::string& path, const std::string& cache) {
  auto j = json::parse(R"({
    "name": "folder", "seed": 3,
    "space": {"type": "blocks", "stem_width": 8, "stages": [
      {"block": ["basic"], "depth": [1], "width": [8]}]},
    "controller": {"type": "random"},
    "budget": {"trials": 1},
    "training": {"epochs": 1, "batch_size": 8, "learning_rate": 0.05, "device": "cpu",
                 "threads": 1}})");
  j["dataset"] = {{"name", "pets"},   {"format", "image-folder"}, {"path", path},
                  {"image_size", 16}, {"cache_dir", cache},       {"validation_fraction", 0.2}};
  return j;
}

}  // namespace

TEST_CASE("data inspect reports classes, sizes, duplicates, leakage and truncated files",
          "[search]") {
  testing::TempDir dir("data-inspect");
  write_folder(dir.path / "pets");
  const auto config = write_json(dir, "pets.json", folder_experiment("pets", dir.file("cache")));
  const auto result = run_cli("data inspect " + config + " --quiet");
  INFO(result.output);
  CHECK(result.exit_code == 0);
  CHECK_THAT(result.output, Catch::Contains("source: image-folder " + dir.file("pets")));
  CHECK_THAT(result.output, Catch::Contains("classes: 2"));
  CHECK_THAT(result.output, Catch::Contains("12x12 gray (1)"));
  CHECK_THAT(result.output, Catch::Contains("cut.jpg: truncated JPEG"));
  CHECK_THAT(result.output, Catch::Contains("files skipped (cannot be read or decoded): 1"));
  CHECK_THAT(result.output, Catch::Contains("exact duplicates in train: 1 (dropped)"));
  CHECK_THAT(result.output, Catch::Contains("cat/copy.png = ") && Catch::Contains("cat/c1.png"));
  CHECK_THAT(result.output, Catch::Contains("test images also in the training data (leakage): 1"));
  CHECK_THAT(result.output, Catch::Contains("labels outside the classes: none"));
  // cat: 12 after dropping the copy; dog: 12 readable of 13.
  CHECK_THAT(result.output, Catch::Contains("total"));
  CHECK_THAT(result.output, Catch::Contains("classes with fewer than 5 images: 0"));

  const auto flags = run_cli("data inspect --format image-folder --path " + dir.file("pets") +
                             " --image-size 16 --quiet");
  CHECK(flags.exit_code == 0);
  CHECK_THAT(flags.output, Catch::Contains("exact duplicates in train: 1"));
}

TEST_CASE("a search runs on an image folder and records its data report", "[search]") {
  testing::TempDir dir("data-run");
  write_folder(dir.path / "pets");
  const auto config = write_json(dir, "pets.json", folder_experiment("pets", dir.file("cache")));
  const auto db = dir.file("pets.db");
  const auto run = run_cli("run " + config + " --db " + db + " --quiet");
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  auto store = store::SqliteStore::open(db);
  const auto report = store.data_report(store.experiment().id);
  REQUIRE(report.has_value());
  CHECK(report->skipped_files == 1);
  CHECK(report->duplicates_dropped == 1);
  CHECK(report->leakage == 1);
  CHECK(report->details.at("class_names") == json::array({"cat", "dog"}));
  CHECK(store.trials(store.experiment().id).size() == 1);
}

TEST_CASE("a search on a folder without test/ exports without a test accuracy", "[search]") {
  testing::TempDir dir("data-no-test");
  write_folder(dir.path / "pets");
  fs::remove_all(dir.path / "pets" / "test");
  const auto config = write_json(dir, "pets.json", folder_experiment("pets", dir.file("cache")));
  const auto db = dir.file("pets.db");
  const auto run = run_cli("run " + config + " --db " + db + " --quiet");
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  const auto exported = run_cli("export --db " + db + " --out " + dir.file("best") + " --onnx off");
  INFO(exported.output);
  REQUIRE(exported.exit_code == 0);
  CHECK_THAT(exported.output, Catch::Contains("has no test split"));
  std::ifstream in(dir.file("best/metrics.json"));
  const auto metrics = json::parse(in);
  CHECK(metrics.contains("val_accuracy"));
  CHECK_FALSE(metrics.contains("test_accuracy"));
  CHECK(fs::exists(dir.path / "best" / "model.safetensors"));
  const auto evaluated = run_cli("evaluate --model " + dir.file("best") + " --split test");
  CHECK(evaluated.exit_code == 2);
  CHECK_THAT(evaluated.output, Catch::Contains("has no test split"));
  CHECK(run_cli("evaluate --model " + dir.file("best") + " --split validation").exit_code == 0);
}

TEST_CASE("a bad dataset gives one line on stderr, exit code 2 and no database", "[search]") {
  testing::TempDir dir("data-bad");
  const auto db = dir.file("never.db");
  auto check_rejected = [&](const json& experiment, const std::string& message) {
    const auto config = write_json(dir, "bad.json", experiment);
    const auto result = run_cli("run " + config + " --db " + db);
    INFO(result.output);
    CHECK(result.exit_code == 2);
    CHECK_THAT(result.output, Catch::StartsWith("nasforge: error: ") && Catch::Contains(message));
    CHECK(std::count(result.output.begin(), result.output.end(), '\n') == 1);
    CHECK_FALSE(fs::exists(db));
    CHECK_FALSE(fs::exists(db + "-wal"));
  };
  fs::create_directories(dir.path / "empty");
  check_rejected(folder_experiment("empty", dir.file("cache")), "no class sub-folders");

  auto zero = folder_experiment("empty", dir.file("cache"));
  zero["dataset"]["image_size"] = 0;
  check_rejected(zero, "dataset.image_size: 0 is not valid; it must be > 0");

  // Today's silent 201-way network: a label of 200 among ten digit classes.
  const auto idx = dir.path / "digits";
  auto labels = du::cyclic_labels(100, 10);
  labels[42] = 200;
  du::write_bytes(idx / "train-images-idx3-ubyte", du::idx_images(100, 6, 6));
  du::write_bytes(idx / "train-labels-idx1-ubyte", du::idx_labels(labels));
  du::write_bytes(idx / "t10k-images-idx3-ubyte", du::idx_images(10, 6, 6, 9));
  du::write_bytes(idx / "t10k-labels-idx1-ubyte", du::idx_labels(du::cyclic_labels(10, 10)));
  auto digits = folder_experiment("digits", dir.file("cache"));
  digits["dataset"] = {{"name", "digits"}, {"format", "idx"}, {"path", "digits"}};
  check_rejected(digits, "train-labels-idx1-ubyte[42]: label 200 is outside the 10 classes 0..9");
  const auto inspect = run_cli("data inspect " + dir.file("bad.json"));
  CHECK(inspect.exit_code == 2);
  CHECK_THAT(inspect.output, Catch::Contains("labels outside the classes:") &&
                                 Catch::Contains("nasforge: error: ") &&
                                 Catch::Contains("[42]: label 200"));
}
