#include "trainer/augment.h"

#include <ATen/ATen.h>

namespace nasforge::trainer {

at::Tensor random_crop(const at::Tensor& batch, int padding, at::Generator& gen) {
  if (padding <= 0) return batch;
  const auto n = batch.size(0), h = batch.size(2), w = batch.size(3);
  auto padded = at::constant_pad_nd(batch, {padding, padding, padding, padding}, 0);
  // Gather with per-image offsets: build row and column indices [N, H] and [N, W].
  auto offsets = at::randint(2 * padding + 1, {n, 2}, gen, at::TensorOptions().dtype(at::kLong))
                     .to(batch.device());
  auto rows = offsets.select(1, 0).unsqueeze(1) + at::arange(h, offsets.options()).unsqueeze(0);
  auto cols = offsets.select(1, 1).unsqueeze(1) + at::arange(w, offsets.options()).unsqueeze(0);
  const auto c = batch.size(1), pw = padded.size(3);
  auto row_index = rows.view({n, 1, h, 1}).expand({n, c, h, pw});
  auto picked_rows = padded.gather(2, row_index);
  auto col_index = cols.view({n, 1, 1, w}).expand({n, c, h, w});
  return picked_rows.gather(3, col_index);
}

at::Tensor random_flip(const at::Tensor& batch, at::Generator& gen) {
  const auto n = batch.size(0);
  auto flip = at::rand({n}, gen, at::TensorOptions().dtype(at::kFloat)).lt(0.5).to(batch.device());
  return at::where(flip.view({n, 1, 1, 1}), batch.flip({3}), batch);
}

}  // namespace nasforge::trainer
