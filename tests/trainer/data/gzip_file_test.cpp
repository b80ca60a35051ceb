#include "tests/nasforge_catch.h"

#include "common/errors.h"
#include "tests/trainer/data/data_test_util.h"
#include "trainer/data/gzip_file.h"

using namespace nasforge;
using namespace nasforge::testing::data_util;

TEST_CASE("read_gzip_or_plain reads plain and gzip files alike and refuses a cut gzip stream",
          "[data]") {
  TempDir dir("gzip");
  Bytes content;
  for (int i = 0; i < 200000; ++i) content.push_back(static_cast<std::uint8_t>(i * 7 % 251));
  write_bytes(dir.path / "plain.bin", content);
  write_gz(dir.path / "packed.bin.gz", content);
  CHECK(trainer::read_gzip_or_plain(dir.file("plain.bin")) == content);
  CHECK(trainer::read_gzip_or_plain(dir.file("packed.bin.gz")) == content);

  // The first half of the gzip stream: an error naming the file, not a shorter content.
  const auto packed = read_bytes(dir.path / "packed.bin.gz");
  write_bytes(dir.path / "cut.bin.gz", Bytes(packed.begin(), packed.begin() + packed.size() / 2));
  CHECK_THROWS_WITH(trainer::read_gzip_or_plain(dir.file("cut.bin.gz")),
                    Catch::Contains("cut.bin.gz: corrupt or truncated file"));

  CHECK_THROWS_AS(trainer::read_gzip_or_plain(dir.file("missing.bin")), DataError);
  CHECK_THROWS_WITH(trainer::read_gzip_or_plain(dir.file("missing.bin")),
                    Catch::Contains("missing.bin: cannot open (No such file or directory)"));
}
