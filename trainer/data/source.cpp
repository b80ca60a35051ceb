#include "trainer/data/source.h"

#include <ATen/ATen.h>

namespace nasforge::trainer {

namespace {

std::int64_t position(const SourceSplit& split, std::int64_t i) {
  return split.positions.empty() ? i : split.positions[static_cast<size_t>(i)];
}

}  // namespace

std::string SourceSplit::origin(std::int64_t i) const {
  if (!origins.empty()) return origins[static_cast<size_t>(i)];
  return images_file + "[" + std::to_string(position(*this, i)) + "]";
}

std::string SourceSplit::label_origin(std::int64_t i) const {
  if (labels_file.empty()) return origin(i);
  return labels_file + "[" + std::to_string(position(*this, i)) + "]";
}

SourceSplit SourceSplit::select(const std::vector<std::int64_t>& index) const {
  SourceSplit out;
  const auto n = static_cast<std::int64_t>(index.size());
  auto idx = at::empty({n}, at::kLong);
  std::copy(index.begin(), index.end(), idx.data_ptr<std::int64_t>());
  out.data = {data.images.index_select(0, idx).contiguous(),
              data.labels.index_select(0, idx).contiguous()};
  out.images_file = images_file;
  out.labels_file = labels_file;
  if (!origins.empty()) {
    out.origins.reserve(index.size());
    for (auto i : index) out.origins.push_back(origins[static_cast<size_t>(i)]);
  } else {
    out.positions.reserve(index.size());
    for (auto i : index) out.positions.push_back(position(*this, i));
  }
  return out;
}

}  // namespace nasforge::trainer
