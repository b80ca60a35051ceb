#include "trainer/data/image_resize.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>

#include "common/errors.h"

namespace nasforge::trainer {
namespace {

// For each output position along one axis: the first source index and the normalised weights of
// the source samples it reads (a fixed number of taps per output, zero-padded).
struct Taps {
  std::vector<int> first;
  std::vector<float> weights;  // out * span
  int span = 0;
};

// After PIL's precompute_coeffs (ImagingResample), which ATen's antialiased kernels follow.
Taps make_taps(int in, int out) {
  const double scale = static_cast<double>(in) / out;
  const double support = std::max(scale, 1.0);  // the triangle's half-width, in source pixels
  const double inverse = 1.0 / std::max(scale, 1.0);
  Taps taps;
  taps.span = static_cast<int>(std::ceil(support)) * 2 + 1;
  taps.first.resize(out);
  taps.weights.assign(static_cast<std::size_t>(out) * taps.span, 0.0f);
  for (int i = 0; i < out; ++i) {
    const double center = (i + 0.5) * scale;
    const int lo = std::max(static_cast<int>(center - support + 0.5), 0);
    const int hi = std::min(static_cast<int>(center + support + 0.5), in);
    double weights[64];  // span <= 2 * ceil(in / out) + 1; larger ratios are split below
    double sum = 0;
    const int count = std::min(hi - lo, taps.span);
    for (int k = 0; k < count; ++k) {
      const double x = (lo + k - center + 0.5) * inverse;
      weights[k] = std::max(0.0, 1.0 - std::abs(x));
      sum += weights[k];
    }
    taps.first[i] = lo;
    for (int k = 0; k < count; ++k) {
      taps.weights[static_cast<std::size_t>(i) * taps.span + k] =
          static_cast<float>(sum > 0 ? weights[k] / sum : 0.0);
    }
  }
  return taps;
}

// The number of taps make_taps can hold; a larger shrink factor is done in several passes.
constexpr int kMaxRatio = 31;

std::uint8_t to_byte(float v) {
  return static_cast<std::uint8_t>(std::clamp(v, 0.0f, 255.0f) + 0.5f);
}

// The horizontal pass over rows the vertical pass made (float, interleaved), writing planar
// bytes. One accumulator per channel, so that the channels' sums run side by side.
template <int C>
void horizontal_pass(const float* rows, int rows_count, int width, const Taps& taps, int out_width,
                     std::uint8_t* target) {
  const std::size_t plane = static_cast<std::size_t>(rows_count) * out_width;
  for (int y = 0; y < rows_count; ++y) {
    const float* row = rows + static_cast<std::size_t>(y) * width * C;
    std::uint8_t* out = target + static_cast<std::size_t>(y) * out_width;
    for (int x = 0; x < out_width; ++x) {
      const float* w = taps.weights.data() + static_cast<std::size_t>(x) * taps.span;
      const int first = taps.first[x];
      const int count = std::min(taps.span, width - first);
      const float* px = row + static_cast<std::size_t>(first) * C;
      float sum[C] = {};
      for (int k = 0; k < count; ++k) {
        for (int c = 0; c < C; ++c) sum[c] += w[k] * px[k * C + c];
      }
      for (int c = 0; c < C; ++c) out[c * plane + x] = to_byte(sum[c]);
    }
  }
}

}  // namespace

std::vector<std::uint8_t> convert_channels(const DecodedImage& image, int channels) {
  const std::size_t pixels = static_cast<std::size_t>(image.width) * image.height;
  const int in = image.channels;
  const std::uint8_t* s = image.pixels.data();
  std::vector<std::uint8_t> out(pixels * channels);
  if (channels == 1) {
    for (std::size_t p = 0; p < pixels; ++p) {
      const std::uint8_t* px = s + p * in;
      // ITU-R 601 luma in 16-bit fixed point, rounded, as PIL's convert("L").
      out[p] = in <= 2 ? px[0]
                       : static_cast<std::uint8_t>(
                             (px[0] * 19595u + px[1] * 38470u + px[2] * 7471u + 0x8000u) >> 16);
    }
  } else {
    for (std::size_t p = 0; p < pixels; ++p) {
      const std::uint8_t* px = s + p * in;
      std::uint8_t* o = out.data() + p * 3;
      if (in <= 2) {
        o[0] = o[1] = o[2] = px[0];
      } else {
        o[0] = px[0];
        o[1] = px[1];
        o[2] = px[2];
      }
    }
  }
  return out;
}

void resize_to_planar(const std::uint8_t* source, int height, int width, int channels,
                      std::uint8_t* target, int out_height, int out_width) {
  const std::size_t plane = static_cast<std::size_t>(out_height) * out_width;
  if (height == out_height && width == out_width) {
    for (int c = 0; c < channels; ++c) {
      for (std::size_t p = 0; p < plane; ++p) target[c * plane + p] = source[p * channels + c];
    }
    return;
  }
  if (height > out_height * kMaxRatio || width > out_width * kMaxRatio) {
    // A very large shrink: first to an intermediate size, so that the taps stay bounded.
    const int mid_h = std::max(out_height, height / kMaxRatio + 1);
    const int mid_w = std::max(out_width, width / kMaxRatio + 1);
    std::vector<std::uint8_t> planar(static_cast<std::size_t>(mid_h) * mid_w * channels);
    resize_to_planar(source, height, width, channels, planar.data(), mid_h, mid_w);
    std::vector<std::uint8_t> interleaved(planar.size());
    const std::size_t mid_plane = static_cast<std::size_t>(mid_h) * mid_w;
    for (int c = 0; c < channels; ++c) {
      for (std::size_t p = 0; p < mid_plane; ++p) {
        interleaved[p * channels + c] = planar[c * mid_plane + p];
      }
    }
    resize_to_planar(interleaved.data(), mid_h, mid_w, channels, target, out_height, out_width);
    return;
  }
  const Taps horizontal = make_taps(width, out_width);
  const Taps vertical = make_taps(height, out_height);

  // Vertical pass first, into float rows [output row][source column * channels]: its inner loop
  // runs along whole interleaved rows (vectorised), and when shrinking it leaves the horizontal
  // pass fewer rows. The passes are linear, so their order changes only float rounding.
  const std::size_t row_size = static_cast<std::size_t>(width) * channels;
  std::vector<float> rows(static_cast<std::size_t>(out_height) * row_size, 0.0f);
  for (int y = 0; y < out_height; ++y) {
    const float* w = vertical.weights.data() + static_cast<std::size_t>(y) * vertical.span;
    const int first = vertical.first[y];
    const int count = std::min(vertical.span, height - first);
    float* sum = rows.data() + static_cast<std::size_t>(y) * row_size;
    for (int k = 0; k < count; ++k) {
      const float wk = w[k];
      const std::uint8_t* row = source + static_cast<std::size_t>(first + k) * row_size;
      for (std::size_t i = 0; i < row_size; ++i) sum[i] += wk * static_cast<float>(row[i]);
    }
  }
  switch (channels) {
    case 1:
      horizontal_pass<1>(rows.data(), out_height, width, horizontal, out_width, target);
      break;
    case 2:
      horizontal_pass<2>(rows.data(), out_height, width, horizontal, out_width, target);
      break;
    case 3:
      horizontal_pass<3>(rows.data(), out_height, width, horizontal, out_width, target);
      break;
    case 4:
      horizontal_pass<4>(rows.data(), out_height, width, horizontal, out_width, target);
      break;
    default:
      throw InternalError("resize_to_planar: " + std::to_string(channels) + " channels");
  }
}

}  // namespace nasforge::trainer
