#pragma once
// Decodes one PNG or JPEG file's bytes into 8-bit interleaved pixels, with libspng and
// libjpeg-turbo's TurboJPEG. The format is told by the file's magic bytes, not its name. A file
// that cannot be decoded is an error value with a short reason, never an exception, so that many
// files can be decoded on worker threads and the bad ones listed afterwards. Free of LibTorch.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace nasforge::trainer {

struct DecodedImage {
  int width = 0;
  int height = 0;
  // Interleaved samples per pixel: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA. Palette PNGs arrive as
  // RGB (RGBA with a tRNS chunk) and 16-bit PNGs as 8-bit.
  int channels = 0;
  // The mode as stored in the file, for inspection: "gray", "gray+alpha", "RGB", "RGBA",
  // "palette", "palette+alpha", with " 16-bit" appended for 16-bit PNGs.
  std::string mode;
  std::vector<std::uint8_t> pixels;  // height * width * channels, row-major (HWC)

  bool grayscale() const { return channels <= 2; }
};

struct DecodeResult {
  DecodedImage image;
  std::string error;  // empty when decoded; else e.g. "truncated JPEG", "corrupt PNG: ..."
  bool ok() const { return error.empty(); }
};

// Decodes PNG and JPEG; keeps a TurboJPEG handle between calls, so a worker thread keeps one
// decoder for all the files it decodes. Not thread-safe: one per thread.
class ImageDecoder {
 public:
  ImageDecoder() = default;
  ~ImageDecoder();
  ImageDecoder(const ImageDecoder&) = delete;
  ImageDecoder& operator=(const ImageDecoder&) = delete;

  DecodeResult decode(std::span<const std::uint8_t> bytes);

 private:
  DecodeResult decode_jpeg(std::span<const std::uint8_t> bytes);
  void* jpeg_ = nullptr;  // tjhandle, created on the first JPEG
};

// One-off decode (a fresh decoder).
DecodeResult decode_image(std::span<const std::uint8_t> bytes);

// Images larger than this many pixels are refused, so that a corrupt or hostile header cannot
// make a worker allocate gigabytes.
inline constexpr std::int64_t kMaxImagePixels = std::int64_t{1} << 28;

}  // namespace nasforge::trainer
