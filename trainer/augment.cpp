#include "trainer/augment.h"

#include <ATen/ATen.h>

namespace nasforge::trainer {

AugmentDraws draw_augmentation(std::int64_t count, int padding, bool flip, at::Generator& gen) {
  AugmentDraws draws;
  if (padding > 0) {
    draws.offsets =
        at::randint(2 * padding + 1, {count, 2}, gen, at::TensorOptions().dtype(at::kLong));
  }
  if (flip) draws.flips = at::rand({count}, gen, at::TensorOptions().dtype(at::kFloat)).lt(0.5);
  return draws;
}

at::Tensor crop_and_flip(const at::Tensor& batch, int padding, const at::Tensor& offsets,
                         const at::Tensor& flips) {
  const bool crop = padding > 0 && offsets.defined();
  if (!crop && !flips.defined()) return batch;
  const int pad = crop ? padding : 0;
  const auto n = batch.size(0), c = batch.size(1), h = batch.size(2), w = batch.size(3);
  const auto padded_w = w + 2 * pad;
  const auto index_options = at::TensorOptions().dtype(at::kLong).device(batch.device());
  auto rows = at::arange(h, index_options).unsqueeze(0);                            // [1, H]
  auto cols = at::arange(w, index_options).unsqueeze(0);                            // [1, W]
  if (flips.defined()) cols = at::where(flips.view({n, 1}), (w - 1) - cols, cols);  // [N, W]
  if (crop) {
    rows = rows + offsets.select(1, 0).unsqueeze(1);
    cols = cols + offsets.select(1, 1).unsqueeze(1);
  }
  // Flat index into each padded plane: [N, H*W], the same for every channel.
  auto flat =
      (rows.unsqueeze(2) * padded_w + cols.unsqueeze(1)).expand({n, h, w}).reshape({n, 1, h * w});
  auto source = pad > 0 ? at::constant_pad_nd(batch, {pad, pad, pad, pad}, 0) : batch.contiguous();
  return source.reshape({n, c, -1}).gather(2, flat.expand({n, c, h * w})).view({n, c, h, w});
}

at::Tensor random_crop(const at::Tensor& batch, int padding, at::Generator& gen) {
  if (padding <= 0) return batch;
  auto draws = draw_augmentation(batch.size(0), padding, false, gen);
  return crop_and_flip(batch, padding, draws.offsets.to(batch.device()), {});
}

at::Tensor random_flip(const at::Tensor& batch, at::Generator& gen) {
  auto draws = draw_augmentation(batch.size(0), 0, true, gen);
  return crop_and_flip(batch, 0, {}, draws.flips.to(batch.device()));
}

}  // namespace nasforge::trainer
