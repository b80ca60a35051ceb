#pragma once
// Writers for the tests' own small datasets (IDX, CIFAR-100 binary, .npy, .npz, PNG, JPEG) in a
// temporary folder, and a stderr capture for checking warnings.
#include <spng.h>
#include <turbojpeg.h>
#include <unistd.h>
#include <zip.h>
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

namespace nasforge::testing::data_util {

namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& tag) {
    static int counter = 0;
    path = fs::temp_directory_path() / ("nasforge-data-" + tag + "-" + std::to_string(::getpid()) +
                                        "-" + std::to_string(counter++));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path, fs::perms::all, ec);
    fs::remove_all(path, ec);
  }
  std::string str() const { return path.string(); }
  std::string file(const std::string& name) const { return (path / name).string(); }
};

inline void write_bytes(const fs::path& path, const Bytes& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

inline Bytes read_bytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline void write_gz(const fs::path& path, const Bytes& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

inline void push_be32(Bytes& b, std::uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) b.push_back(static_cast<std::uint8_t>(v >> s));
}

// IDX images (N x H x W) whose pixels encode the image index, so that all are distinct.
inline Bytes idx_images(int n, int h, int w, std::uint8_t salt = 0) {
  Bytes b;
  push_be32(b, 0x803);
  push_be32(b, static_cast<std::uint32_t>(n));
  push_be32(b, static_cast<std::uint32_t>(h));
  push_be32(b, static_cast<std::uint32_t>(w));
  for (int i = 0; i < n; ++i) {
    for (int p = 0; p < h * w; ++p) {
      b.push_back(static_cast<std::uint8_t>(p == 0 ? i : p == 1 ? i >> 8 : (p * 7 + salt) & 0xff));
    }
  }
  return b;
}

inline Bytes idx_labels(const std::vector<int>& labels) {
  Bytes b;
  push_be32(b, 0x801);
  push_be32(b, static_cast<std::uint32_t>(labels.size()));
  for (int l : labels) b.push_back(static_cast<std::uint8_t>(l));
  return b;
}

inline std::vector<int> cyclic_labels(int n, int k) {
  std::vector<int> labels;
  for (int i = 0; i < n; ++i) labels.push_back(i % k);
  return labels;
}

// An .npy file's bytes (format 1.0).
inline Bytes npy(const std::string& descr, const std::vector<long>& shape, const Bytes& data) {
  std::string shape_text = "(";
  for (size_t i = 0; i < shape.size(); ++i) shape_text += std::to_string(shape[i]) + ", ";
  if (shape.size() > 1) shape_text.resize(shape_text.size() - 2);
  shape_text += ")";
  std::string header =
      "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape_text + ", }";
  while ((10 + header.size() + 1) % 64 != 0) header += ' ';
  header += '\n';
  Bytes b = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0};
  b.push_back(static_cast<std::uint8_t>(header.size() & 0xff));
  b.push_back(static_cast<std::uint8_t>(header.size() >> 8));
  b.insert(b.end(), header.begin(), header.end());
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

// Little-endian integers of `size` bytes each.
inline Bytes le_ints(const std::vector<long>& values, int size) {
  Bytes b;
  for (long v : values) {
    for (int i = 0; i < size; ++i) b.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
  }
  return b;
}

// An .npz archive of members name -> .npy bytes (compressed, as np.savez_compressed writes).
inline void write_npz(const fs::path& path,
                      const std::vector<std::pair<std::string, Bytes>>& arrays) {
  int error = 0;
  zip_t* z = zip_open(path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &error);
  if (!z) throw std::runtime_error("zip_open failed");
  for (const auto& [name, bytes] : arrays) {
    zip_source_t* src = zip_source_buffer(z, bytes.data(), bytes.size(), 0);
    const auto index = zip_file_add(z, (name + ".npy").c_str(), src, ZIP_FL_OVERWRITE);
    zip_set_file_compression(z, static_cast<zip_uint64_t>(index), ZIP_CM_DEFLATE, 0);
  }
  if (zip_close(z) != 0) throw std::runtime_error("zip_close failed");
}

// channels: 1 gray, 3 RGB, 4 RGBA.
inline Bytes encode_png(const Bytes& pixels, int w, int h, int channels) {
  spng_ctx* ctx = spng_ctx_new(SPNG_CTX_ENCODER);
  spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1);
  spng_ihdr ihdr{};
  ihdr.width = static_cast<std::uint32_t>(w);
  ihdr.height = static_cast<std::uint32_t>(h);
  ihdr.bit_depth = 8;
  ihdr.color_type = static_cast<std::uint8_t>(channels == 1   ? SPNG_COLOR_TYPE_GRAYSCALE
                                              : channels == 3 ? SPNG_COLOR_TYPE_TRUECOLOR
                                                              : SPNG_COLOR_TYPE_TRUECOLOR_ALPHA);
  spng_set_ihdr(ctx, &ihdr);
  if (spng_encode_image(ctx, pixels.data(), pixels.size(), SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE)) {
    spng_ctx_free(ctx);
    throw std::runtime_error("spng_encode_image failed");
  }
  size_t size = 0;
  int error = 0;
  auto* png = static_cast<std::uint8_t*>(spng_get_png_buffer(ctx, &size, &error));
  Bytes out(png, png + size);
  std::free(png);
  spng_ctx_free(ctx);
  return out;
}

inline Bytes encode_jpeg(const Bytes& pixels, int w, int h, int channels, int quality = 90) {
  tjhandle handle = tjInitCompress();
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  if (tjCompress2(handle, pixels.data(), w, 0, h, channels == 1 ? TJPF_GRAY : TJPF_RGB, &buffer,
                  &size, channels == 1 ? TJSAMP_GRAY : TJSAMP_444, quality, 0) != 0) {
    tjDestroy(handle);
    throw std::runtime_error("tjCompress2 failed");
  }
  Bytes out(buffer, buffer + size);
  tjFree(buffer);
  tjDestroy(handle);
  return out;
}

// A w x h image with `channels` channels whose content depends on `seed` (distinct per seed).
inline Bytes pattern(int w, int h, int channels, int seed) {
  Bytes b(static_cast<size_t>(w * h * channels));
  std::uint32_t s = static_cast<std::uint32_t>(seed) * 2654435761u + 12345u;
  for (size_t i = 0; i < b.size(); ++i) {
    s = s * 1664525u + 1013904223u;
    // Smooth gradients plus noise: compresses like a photo, differs per seed.
    b[i] = static_cast<std::uint8_t>(
        ((i / static_cast<size_t>(channels)) % static_cast<size_t>(w)) * 3 +
        static_cast<size_t>(seed) * 11 + (s >> 28));
  }
  return b;
}

// Captures what is written to stderr (the log) while alive.
class CaptureStderr {
 public:
  CaptureStderr() {
    std::fflush(stderr);
    saved_ = ::dup(2);
    file_ = std::tmpfile();
    ::dup2(::fileno(file_), 2);
  }
  ~CaptureStderr() {
    restore();
    if (file_) std::fclose(file_);
  }
  CaptureStderr(const CaptureStderr&) = delete;
  CaptureStderr& operator=(const CaptureStderr&) = delete;
  std::string text() {
    restore();
    std::rewind(file_);
    std::string out;
    char buffer[4096];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof(buffer), file_)) > 0) out.append(buffer, n);
    return out;
  }

 private:
  void restore() {
    if (saved_ < 0) return;
    std::fflush(stderr);
    ::dup2(saved_, 2);
    ::close(saved_);
    saved_ = -1;
  }
  int saved_ = -1;
  std::FILE* file_ = nullptr;
};

}  // namespace nasforge::testing::data_util
