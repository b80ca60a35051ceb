#include "trainer/data/gzip_file.h"

#include <zlib.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <memory>

#include "common/errors.h"

namespace nasforge::trainer {

namespace {

struct GzCloser {
  void operator()(gzFile_s* f) const { gzclose(f); }
};

}  // namespace

std::vector<std::uint8_t> read_gzip_or_plain(const std::string& path) {
  errno = 0;
  std::unique_ptr<gzFile_s, GzCloser> file(gzopen(path.c_str(), "rb"));
  if (!file) {
    throw DataError(path + ": cannot open (" +
                    (errno ? std::string(std::strerror(errno)) : "out of memory") + ")");
  }
  std::vector<std::uint8_t> bytes;
  std::array<std::uint8_t, 1 << 16> buffer;
  int n;
  while ((n = gzread(file.get(), buffer.data(), static_cast<unsigned>(buffer.size()))) > 0) {
    bytes.insert(bytes.end(), buffer.begin(), buffer.begin() + n);
  }
  const int read_errno = errno;
  int code = Z_OK;
  const char* message = gzerror(file.get(), &code);
  // A gzip stream that ends early is not an error return: gzread returns 0 and gzerror says
  // Z_BUF_ERROR ("unexpected end of file").
  if (n < 0 || (code != Z_OK && code != Z_STREAM_END)) {
    throw DataError(path + ": corrupt or truncated file (" +
                    (code == Z_ERRNO ? std::string(std::strerror(read_errno)) : message) + ")");
  }
  return bytes;
}

}  // namespace nasforge::trainer
