#include "trainer/data/image_decode.h"

#include <spng.h>
#include <turbojpeg.h>

#include <array>
#include <cstring>
#include <memory>
#include <string_view>

namespace nasforge::trainer {
namespace {

constexpr std::array<std::uint8_t, 8> kPngMagic = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
constexpr std::array<std::uint8_t, 3> kJpegMagic = {0xff, 0xd8, 0xff};

template <std::size_t N>
bool starts_with(std::span<const std::uint8_t> bytes, const std::array<std::uint8_t, N>& magic) {
  return bytes.size() >= N && std::memcmp(bytes.data(), magic.data(), N) == 0;
}

DecodeResult failure(std::string reason) {
  DecodeResult result;
  result.error = std::move(reason);
  return result;
}

std::string too_large(std::int64_t width, std::int64_t height) {
  return "image too large (" + std::to_string(width) + "x" + std::to_string(height) + ")";
}

struct SpngFree {
  void operator()(spng_ctx* ctx) const { spng_ctx_free(ctx); }
};

DecodeResult png_failure(int code) {
  // The stream ended before the image did: the file was cut short.
  if (code == SPNG_EOF || code == SPNG_IO_EOF) return failure("truncated PNG");
  return failure(std::string("corrupt PNG: ") + spng_strerror(code));
}

DecodeResult decode_png(std::span<const std::uint8_t> bytes) {
  std::unique_ptr<spng_ctx, SpngFree> ctx(spng_ctx_new(0));
  if (!ctx) return failure("out of memory");
  if (const int rc = spng_set_png_buffer(ctx.get(), bytes.data(), bytes.size())) {
    return png_failure(rc);
  }
  spng_ihdr ihdr{};
  if (const int rc = spng_get_ihdr(ctx.get(), &ihdr)) return png_failure(rc);
  if (std::int64_t{ihdr.width} * ihdr.height > kMaxImagePixels) {
    return failure(too_large(ihdr.width, ihdr.height));
  }

  DecodeResult result;
  DecodedImage& image = result.image;
  image.width = static_cast<int>(ihdr.width);
  image.height = static_cast<int>(ihdr.height);
  const bool deep = ihdr.bit_depth == 16;
  // Gray and gray+alpha are decoded as stored (SPNG_FMT_PNG, host-endian) and narrowed here:
  // libspng converts only to RGB(A) or to gray of at most 8 bits.
  int format = 0;
  int stored_samples = 0;  // samples per pixel in the decoded buffer
  switch (ihdr.color_type) {
    case SPNG_COLOR_TYPE_GRAYSCALE:
      image.mode = "gray";
      image.channels = 1;
      format = deep ? SPNG_FMT_PNG : SPNG_FMT_G8;
      stored_samples = 1;
      break;
    case SPNG_COLOR_TYPE_GRAYSCALE_ALPHA:
      image.mode = "gray+alpha";
      image.channels = 2;
      format = SPNG_FMT_PNG;
      stored_samples = 2;
      break;
    case SPNG_COLOR_TYPE_TRUECOLOR:
      image.mode = "RGB";
      image.channels = 3;
      format = SPNG_FMT_RGB8;
      stored_samples = 3;
      break;
    case SPNG_COLOR_TYPE_TRUECOLOR_ALPHA:
      image.mode = "RGBA";
      image.channels = 4;
      format = SPNG_FMT_RGBA8;
      stored_samples = 4;
      break;
    case SPNG_COLOR_TYPE_INDEXED: {
      spng_trns trns{};
      const bool alpha = spng_get_trns(ctx.get(), &trns) == 0;
      image.mode = alpha ? "palette+alpha" : "palette";
      image.channels = alpha ? 4 : 3;
      format = alpha ? SPNG_FMT_RGBA8 : SPNG_FMT_RGB8;
      stored_samples = image.channels;
      break;
    }
    default:
      return failure("corrupt PNG: unknown colour type " + std::to_string(ihdr.color_type));
  }
  if (deep) image.mode += " 16-bit";
  // With SPNG_FMT_PNG the samples keep the file's depth; with the 8-bit formats they are bytes.
  const bool wide_samples = format == SPNG_FMT_PNG && deep;

  std::size_t size = 0;
  if (const int rc = spng_decoded_image_size(ctx.get(), format, &size)) return png_failure(rc);
  std::vector<std::uint8_t> decoded(size);
  // Transparency (tRNS) is applied only where the output has an alpha channel to carry it.
  const int flags = format == SPNG_FMT_RGBA8 ? SPNG_DECODE_TRNS : 0;
  if (const int rc = spng_decode_image(ctx.get(), decoded.data(), size, format, flags)) {
    return png_failure(rc);
  }

  const std::size_t samples = static_cast<std::size_t>(image.width) * image.height *
                              static_cast<std::size_t>(stored_samples);
  if (!wide_samples) {
    if (decoded.size() < samples) return failure("corrupt PNG: short image");
    decoded.resize(samples);
    image.pixels = std::move(decoded);
  } else {
    // 16-bit samples to 8: the high byte, as libspng does for its own 8-bit formats.
    if (decoded.size() < samples * 2) return failure("corrupt PNG: short image");
    image.pixels.resize(samples);
    for (std::size_t i = 0; i < samples; ++i) {
      std::uint16_t v = 0;
      std::memcpy(&v, decoded.data() + 2 * i, 2);
      image.pixels[i] = static_cast<std::uint8_t>(v >> 8);
    }
  }
  return result;
}

bool premature_end(std::string_view message) {
  return message.find("Premature end") != std::string_view::npos;
}

// Whether the bytes end with the JPEG end-of-image marker, as every complete file does (a few
// writers append padding after it; those files decode and never get here).
bool ends_with_eoi(std::span<const std::uint8_t> bytes) {
  return bytes.size() >= 2 && bytes[bytes.size() - 2] == 0xff && bytes.back() == 0xd9;
}

// TurboJPEG's message without its "tjDecompress2(): " prefix.
std::string jpeg_message(tjhandle handle) {
  std::string message = tjGetErrorStr2(handle);
  if (const auto at = message.find("(): "); at != std::string::npos) message.erase(0, at + 4);
  return message;
}

}  // namespace

ImageDecoder::~ImageDecoder() {
  if (jpeg_) tjDestroy(static_cast<tjhandle>(jpeg_));
}

DecodeResult ImageDecoder::decode(std::span<const std::uint8_t> bytes) {
  if (starts_with(bytes, kPngMagic)) return decode_png(bytes);
  if (starts_with(bytes, kJpegMagic)) {
    auto result = decode_jpeg(bytes);
    // A failed decode can leave the TurboJPEG handle in its error state, so that the next file
    // on this thread fails too ("no image in the file"): start the next one on a fresh handle.
    if (!result.ok() && jpeg_) {
      tjDestroy(static_cast<tjhandle>(jpeg_));
      jpeg_ = nullptr;
    }
    return result;
  }
  return failure(bytes.empty() ? "empty file" : "not a PNG or JPEG image");
}

DecodeResult ImageDecoder::decode_jpeg(std::span<const std::uint8_t> bytes) {
  if (!jpeg_) jpeg_ = tjInitDecompress();
  if (!jpeg_) return failure(std::string("cannot start TurboJPEG: ") + tjGetErrorStr2(nullptr));
  auto* handle = static_cast<tjhandle>(jpeg_);
  // TurboJPEG takes a non-const buffer in the 2.x API but does not write to it.
  auto* data = const_cast<unsigned char*>(bytes.data());
  const auto size = static_cast<unsigned long>(bytes.size());

  int width = 0, height = 0, subsampling = 0, colorspace = 0;
  if (tjDecompressHeader3(handle, data, size, &width, &height, &subsampling, &colorspace) != 0) {
    // A file cut inside its headers fails here, often with an unrelated message.
    const std::string message = jpeg_message(handle);
    const bool truncated = premature_end(message) || !ends_with_eoi(bytes);
    return failure(truncated ? "truncated JPEG" : "corrupt JPEG: " + message);
  }
  if (width <= 0 || height <= 0) {
    // The headers ended before a frame header (a tables-only stream, or a file cut early).
    return failure(ends_with_eoi(bytes) ? "corrupt JPEG: no image in the file" : "truncated JPEG");
  }
  if (colorspace == TJCS_CMYK || colorspace == TJCS_YCCK) {
    return failure("CMYK JPEG not supported: save it as RGB");
  }
  if (std::int64_t{width} * height > kMaxImagePixels) return failure(too_large(width, height));

  DecodeResult result;
  DecodedImage& image = result.image;
  image.width = width;
  image.height = height;
  const bool gray = colorspace == TJCS_GRAY;
  image.channels = gray ? 1 : 3;
  image.mode = gray ? "gray" : "RGB";
  image.pixels.resize(static_cast<std::size_t>(width) * height * image.channels);
  // TJFLAG_LIMITSCANS refuses progressive files with absurd scan counts (a decoding-time bomb).
  if (tjDecompress2(handle, data, size, image.pixels.data(), width, 0, height,
                    gray ? TJPF_GRAY : TJPF_RGB, TJFLAG_LIMITSCANS) != 0) {
    const std::string message = jpeg_message(handle);
    // A file cut short decodes with a warning and grey where the data ended: unreadable, not an
    // image to train on. Other warnings (extraneous bytes before a marker and the like) leave a
    // complete image, which PIL and torchvision also accept.
    if (premature_end(message)) return failure("truncated JPEG");
    if (tjGetErrorCode(handle) != TJERR_WARNING) {
      return failure(ends_with_eoi(bytes) ? "corrupt JPEG: " + message : "truncated JPEG");
    }
  }
  return result;
}

DecodeResult decode_image(std::span<const std::uint8_t> bytes) {
  ImageDecoder decoder;
  return decoder.decode(bytes);
}

}  // namespace nasforge::trainer
