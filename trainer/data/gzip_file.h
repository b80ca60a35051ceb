#pragma once
// Reading a file that may be gzip-compressed (IDX .gz files, benchmarks/nb201/nb201.csv.gz):
// zlib's gzread passes a file that is not gzip through unchanged, so one function reads both.
#include <cstdint>
#include <string>
#include <vector>

namespace nasforge::trainer {

// The whole file, gunzipped when it is gzip. Throws DataError "<path>: cannot open (<reason>)" or
// "<path>: corrupt or truncated file (<reason>)", a gzip stream that ends early included.
std::vector<std::uint8_t> read_gzip_or_plain(const std::string& path);

}  // namespace nasforge::trainer
