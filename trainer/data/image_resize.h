#pragma once
// Pixel conversions that image sources share: channel conversion of decoded images and an
// antialiased bilinear resize. Free of LibTorch, so that they run on decoding threads.
#include <cstdint>
#include <vector>

#include "trainer/data/image_decode.h"

namespace nasforge::trainer {

// The image's pixels as `channels` (1 or 3) interleaved samples: gray is repeated into RGB, RGB
// becomes gray with the ITU-R 601 weights (as PIL's convert("L")), and alpha is dropped (as PIL's
// convert("RGB") and torchvision's ImageReadMode.RGB do).
std::vector<std::uint8_t> convert_channels(const DecodedImage& image, int channels);

// Resizes interleaved (HWC) 8-bit pixels to planar (CHW) output of out_height x out_width, with
// the same number of channels. Bilinear with antialiasing: when shrinking, the triangle filter is
// widened by the scale so that every source pixel contributes (the filter of PIL's
// resize(BILINEAR) and of ATen's upsample_bilinear2d with antialias=True). Sums in float and
// rounds once. Equal sizes copy the pixels unchanged.
void resize_to_planar(const std::uint8_t* source, int height, int width, int channels,
                      std::uint8_t* target, int out_height, int out_width);

}  // namespace nasforge::trainer
