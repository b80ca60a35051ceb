// The image-folder source: PNG and JPEG files written here with the real encoders (libspng,
// TurboJPEG) in every mode the reader converts, then read back with known pixel values.
#include "tests/nasforge_catch.h"
// (nasforge_catch.h first: see there.)
#include <ATen/ATen.h>
#include <spng.h>
#include <sys/stat.h>
#include <turbojpeg.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/errors.h"
#include "trainer/data/image_decode.h"
#include "trainer/data/image_folder.h"
#include "trainer/data/image_resize.h"

namespace {

using namespace nasforge;
using namespace nasforge::trainer;
namespace fs = std::filesystem;
using Bytes = std::vector<std::uint8_t>;

class TempDir {
 public:
  TempDir() {
    static std::atomic<int> counter{0};
    path_ = fs::temp_directory_path() / ("nasforge-image-folder-" + std::to_string(::getpid()) +
                                         "-" + std::to_string(counter++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::permissions(path_, fs::perms::owner_all, fs::perm_options::add, ec);
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A PNG of `data` as stored (host-endian samples for 16-bit), with an optional palette.
Bytes encode_png(int width, int height, std::uint8_t color_type, std::uint8_t depth,
                 const Bytes& data, const std::vector<std::array<std::uint8_t, 3>>& palette = {},
                 const std::vector<std::uint8_t>& palette_alpha = {}) {
  spng_ctx* ctx = spng_ctx_new(SPNG_CTX_ENCODER);
  REQUIRE(ctx);
  spng_set_option(ctx, SPNG_ENCODE_TO_BUFFER, 1);
  spng_ihdr ihdr{};
  ihdr.width = static_cast<std::uint32_t>(width);
  ihdr.height = static_cast<std::uint32_t>(height);
  ihdr.bit_depth = depth;
  ihdr.color_type = color_type;
  REQUIRE(spng_set_ihdr(ctx, &ihdr) == 0);
  if (!palette.empty()) {
    spng_plte plte{};
    plte.n_entries = static_cast<std::uint32_t>(palette.size());
    for (std::size_t i = 0; i < palette.size(); ++i) {
      plte.entries[i].red = palette[i][0];
      plte.entries[i].green = palette[i][1];
      plte.entries[i].blue = palette[i][2];
    }
    REQUIRE(spng_set_plte(ctx, &plte) == 0);
  }
  if (!palette_alpha.empty()) {
    spng_trns trns{};
    trns.n_type3_entries = static_cast<std::uint32_t>(palette_alpha.size());
    for (std::size_t i = 0; i < palette_alpha.size(); ++i) trns.type3_alpha[i] = palette_alpha[i];
    REQUIRE(spng_set_trns(ctx, &trns) == 0);
  }
  REQUIRE(spng_encode_image(ctx, data.data(), data.size(), SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE) ==
          0);
  std::size_t size = 0;
  int error = 0;
  auto* buffer = static_cast<std::uint8_t*>(spng_get_png_buffer(ctx, &size, &error));
  REQUIRE(buffer);
  Bytes png(buffer, buffer + size);
  std::free(buffer);
  spng_ctx_free(ctx);
  return png;
}

Bytes encode_jpeg(int width, int height, bool gray, const Bytes& pixels, int quality = 95) {
  tjhandle handle = tjInitCompress();
  REQUIRE(handle);
  unsigned char* buffer = nullptr;
  unsigned long size = 0;
  REQUIRE(tjCompress2(handle, pixels.data(), width, 0, height, gray ? TJPF_GRAY : TJPF_RGB, &buffer,
                      &size, gray ? TJSAMP_GRAY : TJSAMP_444, quality, 0) == 0);
  Bytes jpeg(buffer, buffer + size);
  tjFree(buffer);
  tjDestroy(handle);
  return jpeg;
}

// A constant image of `color` (1 or 3 samples).
Bytes constant(int width, int height, const std::vector<std::uint8_t>& color) {
  Bytes out;
  for (int i = 0; i < width * height; ++i) out.insert(out.end(), color.begin(), color.end());
  return out;
}

Bytes rgb_png(int width, int height, const std::vector<std::uint8_t>& color) {
  return encode_png(width, height, SPNG_COLOR_TYPE_TRUECOLOR, 8, constant(width, height, color));
}
Bytes gray_png(int width, int height, std::uint8_t value) {
  return encode_png(width, height, SPNG_COLOR_TYPE_GRAYSCALE, 8, constant(width, height, {value}));
}

void write(const fs::path& path, const Bytes& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out.good());
}

void write_text(const fs::path& path, const std::string& text) {
  write(path, Bytes(text.begin(), text.end()));
}

int max_abs_diff(const at::Tensor& a, int value) {
  return (a.to(at::kInt) - value).abs().max().item<int>();
}

SourceData read(const fs::path& root, int image_size = 0, int channels = 0) {
  ImageFolderOptions options;
  options.root = root.string();
  options.image_size = image_size;
  options.channels = channels;
  return read_image_folder(options);
}

std::string error_of(const fs::path& root, int image_size = 0, int channels = 0) {
  try {
    read(root, image_size, channels);
  } catch (const DataError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_CASE("decode_image reads gray, gray+alpha, RGB, RGBA and 16-bit PNGs as stored", "[data]") {
  const Bytes gray = {0, 40, 80, 120, 160, 200};
  DecodeResult r = decode_image(encode_png(3, 2, SPNG_COLOR_TYPE_GRAYSCALE, 8, gray));
  REQUIRE(r.ok());
  CHECK(r.image.width == 3);
  CHECK(r.image.height == 2);
  CHECK(r.image.channels == 1);
  CHECK(r.image.mode == "gray");
  CHECK(r.image.pixels == gray);

  const Bytes gray_alpha = {10, 255, 20, 128, 30, 0, 40, 64};
  r = decode_image(encode_png(2, 2, SPNG_COLOR_TYPE_GRAYSCALE_ALPHA, 8, gray_alpha));
  REQUIRE(r.ok());
  CHECK(r.image.mode == "gray+alpha");
  CHECK(r.image.channels == 2);
  CHECK(r.image.pixels == gray_alpha);

  const Bytes rgb = {255, 0, 0, 0, 255, 0, 0, 0, 255, 10, 20, 30};
  r = decode_image(encode_png(2, 2, SPNG_COLOR_TYPE_TRUECOLOR, 8, rgb));
  REQUIRE(r.ok());
  CHECK(r.image.mode == "RGB");
  CHECK(r.image.pixels == rgb);

  const Bytes rgba = {1, 2, 3, 4, 5, 6, 7, 8};
  r = decode_image(encode_png(2, 1, SPNG_COLOR_TYPE_TRUECOLOR_ALPHA, 8, rgba));
  REQUIRE(r.ok());
  CHECK(r.image.mode == "RGBA");
  CHECK(r.image.channels == 4);
  CHECK(r.image.pixels == rgba);

  // 16-bit: k * 257 is k in 8 bits.
  std::vector<std::uint16_t> deep = {0, 257 * 10, 257 * 128, 65535};
  Bytes deep_bytes(deep.size() * 2);
  std::memcpy(deep_bytes.data(), deep.data(), deep_bytes.size());
  r = decode_image(encode_png(2, 2, SPNG_COLOR_TYPE_GRAYSCALE, 16, deep_bytes));
  REQUIRE(r.ok());
  CHECK(r.image.mode == "gray 16-bit");
  CHECK(r.image.channels == 1);
  CHECK(r.image.pixels == Bytes{0, 10, 128, 255});
}

TEST_CASE("decode_image expands palette PNGs to RGB, or RGBA with a tRNS chunk", "[data]") {
  const std::vector<std::array<std::uint8_t, 3>> palette = {{200, 10, 20}, {0, 100, 250}};
  const Bytes indices = {0, 1, 1, 0};
  DecodeResult r = decode_image(encode_png(2, 2, SPNG_COLOR_TYPE_INDEXED, 8, indices, palette));
  REQUIRE(r.ok());
  CHECK(r.image.mode == "palette");
  CHECK(r.image.channels == 3);
  CHECK(r.image.pixels == Bytes{200, 10, 20, 0, 100, 250, 0, 100, 250, 200, 10, 20});

  r = decode_image(encode_png(2, 2, SPNG_COLOR_TYPE_INDEXED, 8, indices, palette, {255, 7}));
  REQUIRE(r.ok());
  CHECK(r.image.mode == "palette+alpha");
  CHECK(r.image.channels == 4);
  CHECK(r.image.pixels ==
        Bytes{200, 10, 20, 255, 0, 100, 250, 7, 0, 100, 250, 7, 200, 10, 20, 255});
}

TEST_CASE("decode_image reads gray and RGB JPEGs", "[data]") {
  DecodeResult r = decode_image(encode_jpeg(16, 8, true, constant(16, 8, {77})));
  REQUIRE(r.ok());
  CHECK(r.image.mode == "gray");
  CHECK(r.image.channels == 1);
  CHECK(r.image.width == 16);
  CHECK(r.image.height == 8);
  for (std::uint8_t v : r.image.pixels) CHECK(std::abs(v - 77) <= 2);

  r = decode_image(encode_jpeg(8, 16, false, constant(8, 16, {200, 60, 30})));
  REQUIRE(r.ok());
  CHECK(r.image.mode == "RGB");
  CHECK(r.image.channels == 3);
  CHECK(r.image.width == 8);
  CHECK(r.image.height == 16);
  const std::vector<int> color = {200, 60, 30};
  for (std::size_t i = 0; i < r.image.pixels.size(); ++i) {
    CHECK(std::abs(r.image.pixels[i] - color[i % 3]) <= 2);
  }
}

TEST_CASE("decode_image returns an error value for truncated, corrupt and non-image bytes",
          "[data]") {
  // Noise, so that the entropy-coded data is long and a cut lands inside it.
  Bytes noise(64 * 64 * 3);
  for (std::size_t i = 0; i < noise.size(); ++i) noise[i] = static_cast<std::uint8_t>(i * 7919);
  const Bytes jpeg = encode_jpeg(64, 64, false, noise);
  CHECK(decode_image(jpeg).ok());
  const Bytes cut_jpeg(jpeg.begin(), jpeg.begin() + static_cast<std::ptrdiff_t>(jpeg.size() / 2));
  CHECK(decode_image(cut_jpeg).error == "truncated JPEG");

  const Bytes png = encode_png(64, 64, SPNG_COLOR_TYPE_TRUECOLOR, 8, noise);
  const Bytes cut_png(png.begin(), png.begin() + static_cast<std::ptrdiff_t>(png.size() / 2));
  CHECK(decode_image(cut_png).error == "truncated PNG");
  Bytes bad_crc = png;
  bad_crc[29] ^= 0xff;  // inside the IHDR chunk's CRC
  CHECK(decode_image(bad_crc).error.rfind("corrupt PNG: ", 0) == 0);

  const std::string text = "label,file\n";
  CHECK(decode_image(Bytes(text.begin(), text.end())).error == "not a PNG or JPEG image");
  CHECK(decode_image(Bytes{}).error == "empty file");
  // Cut anywhere, even inside the headers (where TurboJPEG's own message is unrelated).
  for (const double fraction : {0.001, 0.02, 0.1, 0.3, 0.9}) {
    const auto cut = static_cast<std::ptrdiff_t>(static_cast<double>(jpeg.size()) * fraction);
    INFO("JPEG cut at " << cut << " of " << jpeg.size() << " bytes");
    CHECK(
        decode_image(Bytes(jpeg.begin(), jpeg.begin() + std::max<std::ptrdiff_t>(cut, 3))).error ==
        "truncated JPEG");
  }
  Bytes bad_header = jpeg;
  std::fill(bad_header.begin() + 4, bad_header.begin() + 12, 0);
  CHECK(decode_image(bad_header).error.rfind("corrupt JPEG: ", 0) == 0);
}

TEST_CASE("resize_to_planar matches ATen's antialiased bilinear resize", "[data]") {
  at::manual_seed(3);
  for (const auto& [h, w, out_h, out_w] : std::vector<std::array<int, 4>>{
           {45, 37, 32, 32}, {20, 24, 32, 32}, {64, 64, 7, 9}, {32, 32, 32, 32}}) {
    const at::Tensor hwc = at::randint(0, 256, {h, w, 3}, at::kByte);
    Bytes planar(static_cast<std::size_t>(3) * out_h * out_w);
    resize_to_planar(hwc.data_ptr<std::uint8_t>(), h, w, 3, planar.data(), out_h, out_w);
    const at::Tensor ours = at::from_blob(planar.data(), {3, out_h, out_w}, at::kByte).to(at::kInt);
    const at::Tensor input = hwc.permute({2, 0, 1}).unsqueeze(0).to(at::kFloat);
    const at::Tensor aten = at::_upsample_bilinear2d_aa(input, {out_h, out_w}, false)
                                .round()
                                .clamp(0, 255)[0]
                                .to(at::kInt);
    INFO(h << "x" << w << " -> " << out_h << "x" << out_w);
    CHECK((ours - aten).abs().max().item<int>() <= 1);
  }
}

TEST_CASE("read_image_folder labels sorted class folders and keeps a deterministic order",
          "[data]") {
  TempDir dir;
  const fs::path root = dir.path();
  write(root / "dog" / "b.png", rgb_png(6, 4, {0, 0, 200}));
  write(root / "dog" / "a.png", rgb_png(6, 4, {0, 0, 100}));
  write(root / "cat" / "z.jpg", encode_jpeg(6, 4, false, constant(6, 4, {200, 0, 0})));
  write(root / "cat" / "nested" / "y.png", rgb_png(6, 4, {100, 0, 0}));
  write(root / "bird" / "x.png", rgb_png(6, 4, {0, 150, 0}));
  write_text(root / "README.txt", "not inside a class folder: ignored");

  const SourceData data = read(root);
  CHECK(data.class_names == std::vector<std::string>{"bird", "cat", "dog"});
  CHECK_FALSE(data.validation.has_value());
  CHECK_FALSE(data.test.has_value());
  CHECK(data.skipped.empty());
  CHECK(data.natural_images);
  REQUIRE(data.train.data.images.sizes() == at::IntArrayRef({5, 3, 4, 6}));
  CHECK(data.train.data.images.scalar_type() == at::kByte);
  const std::vector<std::string> origins = {
      (root / "bird" / "x.png").string(), (root / "cat" / "nested" / "y.png").string(),
      (root / "cat" / "z.jpg").string(), (root / "dog" / "a.png").string(),
      (root / "dog" / "b.png").string()};
  CHECK(data.train.origins == origins);
  const at::Tensor labels = data.train.data.labels;
  CHECK(labels.scalar_type() == at::kLong);
  CHECK(std::vector<std::int64_t>(labels.data_ptr<std::int64_t>(),
                                  labels.data_ptr<std::int64_t>() + 5) ==
        std::vector<std::int64_t>{0, 1, 1, 2, 2});
  const at::Tensor images = data.train.data.images;
  CHECK(max_abs_diff(images[0][1], 150) == 0);
  CHECK(max_abs_diff(images[1][0], 100) == 0);
  CHECK(max_abs_diff(images[2][0], 200) <= 2);  // JPEG
  CHECK(max_abs_diff(images[3][2], 100) == 0);
  CHECK(max_abs_diff(images[4][2], 200) == 0);
  CHECK(max_abs_diff(images[4][0], 0) == 0);
  CHECK(data.shapes_found == std::map<std::string, std::int64_t>{{"6x4 RGB", 5}});

  const SourceData again = read(root);
  CHECK(again.train.origins == data.train.origins);
  CHECK(at::equal(again.train.data.images, data.train.data.images));
}

TEST_CASE("read_image_folder keeps gray sets gray and makes mixed sets RGB", "[data]") {
  TempDir dir;
  const fs::path root = dir.path();
  write(root / "a" / "1.png", gray_png(5, 5, 30));
  write(root / "b" / "1.jpg", encode_jpeg(5, 5, true, constant(5, 5, {220})));
  std::vector<std::uint16_t> deep(25, 257 * 90);
  Bytes deep_bytes(50);
  std::memcpy(deep_bytes.data(), deep.data(), 50);
  write(root / "b" / "2.png", encode_png(5, 5, SPNG_COLOR_TYPE_GRAYSCALE, 16, deep_bytes));

  SourceData data = read(root);
  REQUIRE(data.train.data.images.sizes() == at::IntArrayRef({3, 1, 5, 5}));
  CHECK_FALSE(data.natural_images);
  CHECK(max_abs_diff(data.train.data.images[0], 30) == 0);
  CHECK(max_abs_diff(data.train.data.images[1], 220) <= 2);
  CHECK(max_abs_diff(data.train.data.images[2], 90) == 0);
  CHECK(data.shapes_found ==
        std::map<std::string, std::int64_t>{{"5x5 gray", 2}, {"5x5 gray 16-bit", 1}});

  // One RGBA image makes the set RGB: gray repeated into three equal planes, alpha dropped.
  write(root / "b" / "3.png",
        encode_png(5, 5, SPNG_COLOR_TYPE_TRUECOLOR_ALPHA, 8, constant(5, 5, {10, 20, 30, 40})));
  data = read(root);
  REQUIRE(data.train.data.images.sizes() == at::IntArrayRef({4, 3, 5, 5}));
  CHECK(data.natural_images);
  for (int c = 0; c < 3; ++c) CHECK(max_abs_diff(data.train.data.images[0][c], 30) == 0);
  CHECK(max_abs_diff(data.train.data.images[3][0], 10) == 0);
  CHECK(max_abs_diff(data.train.data.images[3][1], 20) == 0);
  CHECK(max_abs_diff(data.train.data.images[3][2], 30) == 0);
  CHECK(data.shapes_found.at("5x5 RGBA") == 1);
}

TEST_CASE("read_image_folder forces one or three channels when asked", "[data]") {
  TempDir dir;
  const fs::path root = dir.path();
  write(root / "a" / "rgb.png", rgb_png(4, 4, {200, 100, 50}));
  write(root / "b" / "gray.png", gray_png(4, 4, 60));
  write(root / "b" / "palette.png",
        encode_png(4, 4, SPNG_COLOR_TYPE_INDEXED, 8, Bytes(16, 0), {{{0, 255, 0}}}));

  const SourceData gray = read(root, 0, 1);
  REQUIRE(gray.train.data.images.sizes() == at::IntArrayRef({3, 1, 4, 4}));
  CHECK_FALSE(gray.natural_images);
  // ITU-R 601: 0.299 * 200 + 0.587 * 100 + 0.114 * 50 = 124.2
  CHECK(max_abs_diff(gray.train.data.images[0], 124) == 0);
  CHECK(max_abs_diff(gray.train.data.images[1], 60) == 0);
  CHECK(max_abs_diff(gray.train.data.images[2], 150) == 0);  // 0.587 * 255 = 149.7

  const SourceData rgb = read(root, 0, 3);
  REQUIRE(rgb.train.data.images.sizes() == at::IntArrayRef({3, 3, 4, 4}));
  CHECK(max_abs_diff(rgb.train.data.images[1], 60) == 0);
  CHECK(max_abs_diff(rgb.train.data.images[2][1], 255) == 0);
  CHECK(max_abs_diff(rgb.train.data.images[2][0], 0) == 0);
  CHECK(rgb.shapes_found.at("4x4 palette") == 1);
}

TEST_CASE("read_image_folder resizes mixed sizes to image_size", "[data]") {
  TempDir dir;
  const fs::path root = dir.path();
  write(root / "a" / "small.png", rgb_png(20, 30, {10, 120, 240}));
  write(root / "a" / "large.jpg", encode_jpeg(64, 48, false, constant(64, 48, {250, 5, 128})));
  write(root / "b" / "square.png", gray_png(32, 32, 77));
  // Left half black, right half white: the resized edge is a ramp, the sides stay put.
  Bytes halves(40 * 40);
  for (int y = 0; y < 40; ++y) {
    for (int x = 0; x < 40; ++x) halves[y * 40 + x] = x < 20 ? 0 : 255;
  }
  write(root / "b" / "halves.png", encode_png(40, 40, SPNG_COLOR_TYPE_GRAYSCALE, 8, halves));

  const SourceData data = read(root, 24);
  const at::Tensor images = data.train.data.images;
  REQUIRE(images.sizes() == at::IntArrayRef({4, 3, 24, 24}));
  CHECK(data.train.origins[0] == (root / "a" / "large.jpg").string());
  CHECK(max_abs_diff(images[0][0], 250) <= 2);
  CHECK(max_abs_diff(images[0][1], 5) <= 2);
  CHECK(max_abs_diff(images[0][2], 128) <= 2);
  CHECK(max_abs_diff(images[1][0], 10) <= 1);
  CHECK(max_abs_diff(images[1][1], 120) <= 1);
  CHECK(max_abs_diff(images[1][2], 240) <= 1);
  // halves.png sorts before square.png.
  const at::Tensor edge = images[2][0];
  CHECK(max_abs_diff(edge.slice(1, 0, 10), 0) == 0);
  CHECK(max_abs_diff(edge.slice(1, 14, 24), 255) == 0);
  const at::Tensor ramp = edge[0].to(at::kInt);
  for (int x = 1; x < 24; ++x) CHECK(ramp[x].item<int>() >= ramp[x - 1].item<int>());
  CHECK(max_abs_diff(images[3], 77) == 0);
  CHECK(data.shapes_found ==
        std::map<std::string, std::int64_t>{
            {"20x30 RGB", 1}, {"64x48 RGB", 1}, {"32x32 gray", 1}, {"40x40 gray", 1}});

  const std::string error = error_of(root);
  CHECK(error.find("large.jpg is 64x48") != std::string::npos);
  CHECK(error.find("small.png is 20x30") != std::string::npos);
  CHECK(error.find("set dataset.image_size") != std::string::npos);
}

TEST_CASE("read_image_folder reads train/, val/ and test/ folders as their own splits", "[data]") {
  TempDir dir;
  const fs::path root = dir.path();
  write(root / "train" / "ant" / "1.png", gray_png(4, 4, 1));
  write(root / "train" / "ant" / "2.png", gray_png(4, 4, 2));
  write(root / "train" / "bee" / "1.png", gray_png(4, 4, 3));
  write(root / "val" / "bee" / "1.png", gray_png(4, 4, 4));
  write(root / "test" / "ant" / "1.png", gray_png(4, 4, 5));
  write(root / "test" / "bee" / "1.png", gray_png(4, 4, 6));

  SourceData data = read(root);
  CHECK(data.class_names == std::vector<std::string>{"ant", "bee"});
  CHECK(data.train.data.size() == 3);
  REQUIRE(data.validation.has_value());
  REQUIRE(data.test.has_value());
  CHECK(data.validation->data.size() == 1);
  CHECK(data.validation->data.labels[0].item<std::int64_t>() == 1);
  CHECK(max_abs_diff(data.validation->data.images[0], 4) == 0);
  CHECK(data.test->data.size() == 2);
  CHECK(data.test->data.labels[0].item<std::int64_t>() == 0);
  CHECK(data.test->data.labels[1].item<std::int64_t>() == 1);
  CHECK(data.test->origins[1] == (root / "test" / "bee" / "1.png").string());

  fs::remove_all(root / "test");
  data = read(root);
  CHECK(data.validation.has_value());
  CHECK_FALSE(data.test.has_value());

  write(root / "val" / "wasp" / "1.png", gray_png(4, 4, 7));
  const std::string error = error_of(root);
  CHECK(error.find("class 'wasp' in val/ is not among the training classes: ant, bee") !=
        std::string::npos);
  CHECK(error.find((root / "val" / "wasp").string()) != std::string::npos);
}

TEST_CASE("read_image_folder skips and lists files it cannot decode", "[data]") {
  TempDir dir;
  const fs::path root = dir.path();
  Bytes noise(48 * 48 * 3);
  for (std::size_t i = 0; i < noise.size(); ++i) noise[i] = static_cast<std::uint8_t>(i * 131);
  const Bytes jpeg = encode_jpeg(48, 48, false, noise);
  const Bytes png = encode_png(48, 48, SPNG_COLOR_TYPE_TRUECOLOR, 8, noise);
  write(root / "a" / "good.jpg", jpeg);
  write(root / "a" / "cut.jpg", Bytes(jpeg.begin(), jpeg.begin() + jpeg.size() / 2));
  write(root / "a" / "notes.txt", Bytes{'h', 'i'});
  write(root / "b" / "good.png", png);
  write(root / "b" / "cut.png", Bytes(png.begin(), png.begin() + png.size() / 2));
  write(root / "b" / ".DS_Store", Bytes{0, 0, 0, 1});  // hidden: ignored, not counted
  fs::create_symlink(root / "b" / "gone.png", root / "b" / "dangling.png");
  // Unreadable by permissions: root reads any file, so this case is checked only as a user.
  const bool as_root = ::geteuid() == 0;
  write(root / "b" / "locked.png", png);
  fs::permissions(root / "b" / "locked.png", fs::perms::none);

  const SourceData data = read(root, 16);
  std::map<std::string, std::string> skipped;
  for (const auto& s : data.skipped) skipped[fs::path(s.path).filename().string()] = s.reason;
  CHECK(skipped.at("cut.jpg") == "truncated JPEG");
  CHECK(skipped.at("cut.png") == "truncated PNG");
  CHECK(skipped.at("notes.txt") == "not a PNG or JPEG image");
  CHECK(skipped.at("dangling.png") == "unreadable: No such file or directory");
  CHECK(skipped.count(".DS_Store") == 0);
  if (as_root) {
    CHECK(data.skipped.size() == 4);
    CHECK(data.train.data.size() == 3);
  } else {
    CHECK(skipped.at("locked.png") == "unreadable: Permission denied");
    CHECK(data.skipped.size() == 5);
    CHECK(data.train.data.size() == 2);
  }
  CHECK(data.shapes_found.at("48x48 RGB") == data.train.data.size());
}

TEST_CASE("read_image_folder refuses unusable folders with one line naming the path", "[data]") {
  TempDir dir;
  const fs::path root = dir.path();
  auto contains = [](const std::string& text, const std::string& part) {
    INFO(text);
    CHECK(text.find(part) != std::string::npos);
  };

  contains(error_of(root / "missing"), "does not exist");
  contains(error_of(root / "missing"), (root / "missing").string());
  write_text(root / "file.txt", "x");
  contains(error_of(root / "file.txt"), "is not a folder");
  fs::remove(root / "file.txt");
  contains(error_of(root), "has no class sub-folders");

  write(root / "cat" / "1.png", gray_png(4, 4, 1));
  contains(error_of(root), "has only one class folder ('cat')");

  fs::create_directories(root / "dog");
  write_text(root / "dog" / "1.txt", "x");
  write_text(root / "dog" / "2.txt", "y");
  const std::string empty_class = error_of(root);
  contains(empty_class,
           "class 'dog' (" + (root / "dog").string() + "): no readable image among 2 files");

  fs::remove(root / "cat" / "1.png");
  write_text(root / "cat" / "1.txt", "z");
  contains(error_of(root), "none of its 3 files is a readable PNG or JPEG image");

  contains(error_of(root, -1), "image_size -1 is negative");
  contains(error_of(root, 0, 2), "channels 2 is not supported");

  TempDir split_dir;
  write(split_dir.path() / "train" / "a" / "1.png", gray_png(4, 4, 1));
  write(split_dir.path() / "train" / "b" / "1.png", gray_png(4, 4, 1));
  write(split_dir.path() / "c" / "1.png", gray_png(4, 4, 1));
  contains(error_of(split_dir.path()), "mixes split folders (train) with other folders (c)");
  fs::remove_all(split_dir.path() / "c");
  fs::create_directories(split_dir.path() / "val");
  contains(error_of(split_dir.path()),
           (split_dir.path() / "val").string() + "' has no class sub-folders");
  fs::rename(split_dir.path() / "train", split_dir.path() / "test");
  contains(error_of(split_dir.path()), "but no train/");
}
