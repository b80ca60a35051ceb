// The safetensors writer: the header's layout, dtypes and offsets, and a round trip.
#include "tests/nasforge_catch.h"

#include <ATen/ATen.h>

#include <cstdint>
#include <fstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/errors.h"
#include "export/safetensors.h"
#include "space/block_space.h"
#include "space/modules/network.h"
#include "tests/search/cli_helpers.h"

using namespace nasforge;
using nasforge::testing::TempDir;

namespace {

std::vector<char> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::uint64_t header_length(const std::vector<char>& bytes) {
  std::uint64_t length = 0;
  for (int i = 7; i >= 0; --i) length = length << 8 | static_cast<unsigned char>(bytes[i]);
  return length;
}

void write_bytes(const std::string& path, const std::vector<char>& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace

TEST_CASE("safetensors: header, dtypes and offsets follow the format", "[export]") {
  TempDir dir("safetensors-header");
  const auto path = dir.file("t.safetensors");
  const auto weights = at::arange(6, at::kFloat).view({2, 3});
  exporter::write_safetensors(
      path,
      {{"w", weights.t()},                          // not contiguous: written in logical order
       {"count", at::scalar_tensor(7, at::kLong)},  // 0-dim, like num_batches_tracked
       {"pixels", at::arange(5, at::kByte)},
       {"empty", at::empty({0, 4}, at::kDouble)}},
      {{"format", "pt"}});
  const auto bytes = read_bytes(path);
  const auto length = header_length(bytes);
  CHECK((8 + length) % 8 == 0);  // the data is 8-byte aligned
  const auto header = nlohmann::json::parse(std::string(bytes.data() + 8, length));
  CHECK(header.at("__metadata__") == nlohmann::json{{"format", "pt"}});
  CHECK(header.at("w") ==
        nlohmann::json::parse(R"({"dtype": "F32", "shape": [3, 2], "data_offsets": [0, 24]})"));
  CHECK(header.at("count") ==
        nlohmann::json::parse(R"({"dtype": "I64", "shape": [], "data_offsets": [24, 32]})"));
  CHECK(header.at("pixels") ==
        nlohmann::json::parse(R"({"dtype": "U8", "shape": [5], "data_offsets": [32, 37]})"));
  CHECK(header.at("empty") ==
        nlohmann::json::parse(R"({"dtype": "F64", "shape": [0, 4], "data_offsets": [37, 37]})"));
  CHECK(bytes.size() == 8 + length + 37);
  // The transposed tensor's bytes, little-endian: 0, 3, 1, 4, 2, 5.
  float w[6];
  std::memcpy(w, bytes.data() + 8 + length, sizeof(w));
  CHECK(std::vector<float>(w, w + 6) == std::vector<float>{0, 3, 1, 4, 2, 5});
}

TEST_CASE("safetensors: a network's state reads back equal, with BatchNorm buffers", "[export]") {
  const space::BlockSpace space(nlohmann::json::parse(R"({"type": "blocks", "stem_width": 4,
    "stages": [{"block": ["dense"], "depth": [2], "width": [8], "growth_rate": [4]},
               {"block": ["bottleneck"], "depth": [1], "width": [16]}]})"));
  auto network = space::build_network(space, space.make(std::vector<int>(10, 0)), {2, 8, 8}, 3);
  const auto state = exporter::module_state(*network);
  bool has_running_mean = false, has_count = false;
  for (const auto& [name, tensor] : state) {
    has_running_mean = has_running_mean || name == "stage0.bn1.running_mean";
    has_count = has_count || name == "stage1_block0.shortcut.bn.num_batches_tracked";
  }
  CHECK(has_running_mean);
  CHECK(has_count);
  CHECK(state.size() == network->named_parameters().size() + network->named_buffers().size());

  TempDir dir("safetensors-roundtrip");
  const auto path = dir.file("model.safetensors");
  exporter::write_safetensors(path, state, {{"space", "blocks"}});
  const auto file = exporter::read_safetensors(path);
  CHECK(file.metadata.at("space") == "blocks");
  REQUIRE(file.tensors.size() == state.size());
  for (size_t i = 0; i < state.size(); ++i) {
    INFO(state[i].first);
    CHECK(file.tensors[i].first == state[i].first);
    CHECK(file.tensors[i].second.scalar_type() == state[i].second.scalar_type());
    CHECK(at::equal(file.tensors[i].second, state[i].second));
  }
}

TEST_CASE("safetensors: a truncated or malformed file is a DataError naming it", "[export]") {
  TempDir dir("safetensors-bad");
  const auto path = dir.file("t.safetensors");
  exporter::write_safetensors(path, {{"x", at::ones({4}, at::kFloat)}});
  auto bytes = read_bytes(path);

  write_bytes(path, std::vector<char>(bytes.begin(), bytes.end() - 4));
  CHECK_THROWS_WITH(exporter::read_safetensors(path),
                    Catch::Contains("t.safetensors") && Catch::Contains("tensor 'x'"));
  write_bytes(path, std::vector<char>(bytes.begin(), bytes.begin() + 12));
  CHECK_THROWS_AS(exporter::read_safetensors(path), DataError);
  auto garbled = bytes;
  garbled[9] = '!';
  write_bytes(path, garbled);
  CHECK_THROWS_WITH(exporter::read_safetensors(path), Catch::Contains("not JSON"));
  CHECK_THROWS_AS(exporter::read_safetensors(dir.file("missing.safetensors")), DataError);
}

TEST_CASE("safetensors: a repeated tensor name is refused", "[export]") {
  TempDir dir("safetensors-repeat");
  CHECK_THROWS_AS(exporter::write_safetensors(dir.file("t.safetensors"),
                                              {{"x", at::ones({1})}, {"x", at::ones({1})}}),
                  InternalError);
}
