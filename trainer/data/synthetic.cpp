// A small, learnable synthetic set for unit tests.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "trainer/dataset.h"

namespace nasforge::trainer {

Dataset make_synthetic(std::int64_t count, int channels, int size, int classes,
                       std::uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto labels = at::randint(classes, {count}, gen, at::kLong);
  // Each class lights up its own quadrant-like region, plus noise: learnable by a small CNN.
  auto images = at::rand({count, channels, size, size}, gen).mul(0.3);
  auto acc = images.accessor<float, 4>();
  auto lab = labels.accessor<std::int64_t, 1>();
  for (std::int64_t i = 0; i < count; ++i) {
    const auto cls = static_cast<int>(lab[i]);
    const int row = (cls * size) / classes;
    for (int c = 0; c < channels; ++c) {
      for (int x = 0; x < size; ++x) {
        acc[i][c][row][x] += 0.7f;
        acc[i][c][x][(row + size / 2) % size] += 0.3f * static_cast<float>(cls % 2);
      }
    }
  }
  return {images.clamp(0, 1).mul(255).to(at::kByte), labels};
}

}  // namespace nasforge::trainer
