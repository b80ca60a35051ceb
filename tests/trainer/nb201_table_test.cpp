#include <zlib.h>

#include <cstdio>
#include <fstream>
#include <iterator>

#include "tests/nasforge_catch.h"

#include "common/errors.h"
#include "space/nb201_space.h"
#include "trainer/nb201_table.h"

namespace nasforge::trainer {
namespace {

const std::string kTablePath = NASFORGE_SOURCE_DIR "/benchmarks/nb201/nb201.csv.gz";
const std::string kIndex0 =
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_"
    "connect~2|";
const std::string kOptimum =
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_"
    "1x1~2|";

std::shared_ptr<const Nb201Table> shared_table() {
  static const auto table = std::make_shared<const Nb201Table>(kTablePath);
  return table;
}

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = "nasforge_test_" + name + ".csv";
  std::ofstream(path) << text;
  return path;
}

std::string write_gz(const std::string& name, const std::string& text) {
  const std::string path = "nasforge_test_" + name + ".csv.gz";
  gzFile file = gzopen(path.c_str(), "wb9");
  REQUIRE(file != nullptr);
  REQUIRE(gzwrite(file, text.data(), static_cast<unsigned>(text.size())) ==
          static_cast<int>(text.size()));
  REQUIRE(gzclose(file) == Z_OK);
  return path;
}

}  // namespace

TEST_CASE("nb201 table returns the recorded values of index 0 and of the optimum", "[trainer]") {
  const auto& table = *shared_table();
  REQUIRE(table.size() == 15625);
  REQUIRE(table.value(kIndex0, "cifar10_valid") == Approx(81.9827));
  REQUIRE(table.value(kIndex0, "cifar100_test") == Approx(52.9133));
  REQUIRE(table.value(kIndex0, "imagenet16_valid_12ep") == Approx(18.4667));
  REQUIRE(table.index(*table.find(kIndex0)) == 0);
  REQUIRE(table.value(kOptimum, "cifar10_valid") == Approx(91.607).margin(1e-3));
  REQUIRE(table.index(*table.find(kOptimum)) == 6111);
  double best = 0;
  const int column = table.column("cifar10_valid");
  for (size_t r = 0; r < table.size(); ++r) best = std::max(best, table.value(r, column));
  REQUIRE(best == Approx(91.6067));
}

TEST_CASE("nb201 table evaluator reports the column as accuracy in [0, 1]", "[trainer]") {
  const space::Nb201Space space;
  Nb201TableEvaluator evaluator(shared_table(), "cifar10_valid");
  const auto result = evaluator.evaluate(space.parse(kOptimum), {});
  REQUIRE(result.state == TrialState::kCompleted);
  REQUIRE(result.val_accuracy == Approx(0.916067));
  REQUIRE(result.epochs == 200);
  REQUIRE(result.extra.at("cifar100_test").get<double>() == Approx(73.22));
  REQUIRE(result.extra.at("imagenet16_test").get<double>() == Approx(46.7111));
  REQUIRE(result.extra.at("nb201_index").get<long>() == 6111);
  REQUIRE_FALSE(result.extra.contains("cifar10_valid"));

  Nb201TableEvaluator short_run(shared_table(), "cifar10_valid_12ep");
  const auto low = short_run.evaluate(space.parse(kIndex0), {});
  REQUIRE(low.val_accuracy == Approx(0.63364));
  REQUIRE(low.epochs == 12);
}

TEST_CASE("nb201 table evaluator rejects an unknown column, listing the valid ones", "[trainer]") {
  try {
    Nb201TableEvaluator evaluator(shared_table(), "cifar10_vaild");
    FAIL("expected ConfigError");
  } catch (const ConfigError& e) {
    REQUIRE_THAT(std::string(e.what()), Catch::Contains("cifar10_vaild"));
    REQUIRE_THAT(std::string(e.what()), Catch::Contains("cifar10_valid_12ep"));
  }
}

TEST_CASE("nb201 table evaluator rejects an architecture of another space", "[trainer]") {
  Nb201TableEvaluator evaluator(shared_table(), "cifar10_valid");
  const space::Architecture other("blocks", {0, 1}, "basic-1");
  REQUIRE_THROWS_AS(evaluator.evaluate(other, {}), ConfigError);
}

TEST_CASE("nb201 table evaluator is made from its experiment config", "[trainer]") {
  auto evaluator = Nb201TableEvaluator::from_config(
      {{"type", "nb201-table"}, {"path", kTablePath}, {"column", "cifar100_valid"}});
  REQUIRE(evaluator->column_name() == "cifar100_valid");
  REQUIRE_THROWS_AS(
      Nb201TableEvaluator::from_config(
          {{"type", "nb201-table"}, {"path", kTablePath}, {"colum", "cifar100_valid"}}),
      ConfigError);
}

TEST_CASE("nb201 table reports a missing or malformed file as DataError", "[trainer]") {
  REQUIRE_THROWS_AS(Nb201Table("/nonexistent/nb201.csv"), DataError);
  const auto bad_header = write_temp("bad_header", "id,cell,acc\n0,|x~0|,1.0\n");
  REQUIRE_THROWS_AS(Nb201Table(bad_header), DataError);
  const auto bad_number = write_temp(
      "bad_number",
      "index,arch,cifar10_valid\n0,|none~0|+|none~0|none~1|+|none~0|none~1|none~2|,abc\n");
  REQUIRE_THROWS_AS(Nb201Table(bad_number), DataError);
  const auto short_row =
      write_temp("short_row", "index,arch,cifar10_valid,cifar10_test\n0,|a~0|,1.0\n");
  REQUIRE_THROWS_AS(Nb201Table(short_row), DataError);
  const auto empty = write_temp("empty", "");
  REQUIRE_THROWS_AS(Nb201Table(empty), DataError);
  for (const auto& path : {bad_header, bad_number, short_row, empty}) std::remove(path.c_str());
}

TEST_CASE(
    "nb201 table reads a gzip-compressed table like the plain CSV, a truncated one is an "
    "error",
    "[trainer]") {
  std::string text = "index,arch,cifar10_valid,cifar10_test\n";
  for (int i = 0; i < 200; ++i) {
    text += std::to_string(i) + ",|cell" + std::to_string(i) + "~0|," +
            std::to_string(50 + i % 40) + ".25," + std::to_string(i) + ".5\n";
  }
  const auto plain_path = write_temp("plain", text);
  const auto gz_path = write_gz("compressed", text);
  const Nb201Table plain(plain_path), compressed(gz_path);
  REQUIRE(compressed.size() == 200);
  REQUIRE(compressed.columns() == plain.columns());
  for (size_t row = 0; row < plain.size(); ++row) {
    REQUIRE(compressed.arch(row) == plain.arch(row));
    REQUIRE(compressed.value(row, 0) == plain.value(row, 0));
    REQUIRE(compressed.value(row, 1) == plain.value(row, 1));
  }
  REQUIRE(compressed.value("|cell7~0|", "cifar10_test") == 7.5);
  // The first half of the gzip stream only: an error, not a shorter table.
  std::ifstream in(gz_path, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string truncated_path = "nasforge_test_truncated.csv.gz";
  std::ofstream(truncated_path, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  REQUIRE_THROWS_WITH(Nb201Table(truncated_path), Catch::Contains("truncated"));
  REQUIRE_THROWS_WITH(Nb201Table("/nonexistent/nb201.csv.gz"),
                      Catch::Contains("benchmarks/nb201/nb201.csv.gz"));
  for (const auto& path : {plain_path, gz_path, truncated_path}) std::remove(path.c_str());
}

}  // namespace nasforge::trainer
