// One ImageDecoder decodes every file a worker thread of read_image_folder is given, failures
// included: a failure must not spoil the files after it.
#include <algorithm>

#include "tests/nasforge_catch.h"
#include "tests/trainer/data/data_test_util.h"
#include "trainer/data/image_decode.h"

namespace du = nasforge::testing::data_util;
using nasforge::trainer::ImageDecoder;

TEST_CASE("one decoder reads a good JPEG after a truncated one (its handle starts afresh)",
          "[data]") {
  const auto whole = du::encode_jpeg(du::pattern(40, 40, 3, 99), 40, 40, 3);
  const auto next = du::encode_jpeg(du::pattern(12, 12, 3, 50), 12, 12, 3);
  for (const double fraction : {0.02, 0.25, 0.5, 0.75}) {
    const auto cut = std::max<std::ptrdiff_t>(
        3, static_cast<std::ptrdiff_t>(static_cast<double>(whole.size()) * fraction));
    INFO("JPEG cut at " << cut << " of " << whole.size() << " bytes");
    ImageDecoder decoder;
    CHECK(decoder.decode(du::Bytes(whole.begin(), whole.begin() + cut)).error == "truncated JPEG");
    const auto result = decoder.decode(next);
    CHECK(result.error.empty());
    CHECK(result.image.width == 12);
  }
}
