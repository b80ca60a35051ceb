#include "trainer/data/cleaning.h"

#include <ATen/ATen.h>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cstring>
#include <set>
#include <unordered_map>

#include "common/errors.h"
#include "trainer/data/hash.h"

namespace nasforge::trainer {

namespace {

constexpr size_t kMaxLabelErrors = 20;

struct ImageBytes {
  const std::uint8_t* base = nullptr;
  size_t stride = 0;  // bytes per image
  const std::uint8_t* at(std::int64_t i) const { return base + static_cast<size_t>(i) * stride; }
};

ImageBytes bytes_of(const at::Tensor& images) {
  // Callers keep the tensor contiguous (readers and select() produce contiguous tensors).
  return {images.data_ptr<std::uint8_t>(), static_cast<size_t>(images[0].numel())};
}

std::vector<std::uint64_t> hashes(const SourceSplit& split, const ImageBytes& bytes) {
  std::vector<std::uint64_t> out(static_cast<size_t>(split.size()));
  tbb::parallel_for(
      tbb::blocked_range<size_t>(0, out.size(), 256), [&](const tbb::blocked_range<size_t>& r) {
        for (auto i = r.begin(); i != r.end(); ++i) {
          out[i] = detail::hash_bytes(bytes.at(static_cast<std::int64_t>(i)), bytes.stride);
        }
      });
  return out;
}

}  // namespace

Duplicates find_duplicates(const SourceSplit& split, size_t max_examples) {
  Duplicates result;
  if (split.size() == 0) return result;
  const auto images = split.data.images.contiguous();
  const auto bytes = bytes_of(images);
  const auto h = hashes(split, bytes);
  std::unordered_map<std::uint64_t, std::vector<std::int64_t>> seen;
  seen.reserve(h.size());
  for (std::int64_t i = 0; i < split.size(); ++i) {
    auto& bucket = seen[h[static_cast<size_t>(i)]];
    const auto first = std::find_if(bucket.begin(), bucket.end(), [&](std::int64_t j) {
      return std::memcmp(bytes.at(i), bytes.at(j), bytes.stride) == 0;
    });
    if (first == bucket.end()) {
      bucket.push_back(i);
      result.keep.push_back(i);
    } else {
      ++result.count;
      if (result.examples.size() < max_examples) {
        result.examples.push_back({split.origin(*first), split.origin(i)});
      }
    }
  }
  return result;
}

std::int64_t count_leakage(const std::vector<const SourceSplit*>& reference,
                           const SourceSplit& test, std::vector<DuplicatePair>& examples,
                           size_t max_examples) {
  if (test.size() == 0) return 0;
  struct Ref {
    const SourceSplit* split;
    at::Tensor images;  // kept alive for the bytes
    ImageBytes bytes;
  };
  std::vector<Ref> refs;
  std::unordered_map<std::uint64_t, std::vector<std::pair<size_t, std::int64_t>>> index;
  for (const auto* split : reference) {
    if (split->size() == 0) continue;
    auto images = split->data.images.contiguous();
    if (images[0].numel() != test.data.images[0].numel()) continue;
    refs.push_back({split, images, bytes_of(images)});
    const auto h = hashes(*split, refs.back().bytes);
    for (size_t i = 0; i < h.size(); ++i) {
      index[h[i]].push_back({refs.size() - 1, static_cast<std::int64_t>(i)});
    }
  }
  const auto test_images = test.data.images.contiguous();
  const auto test_bytes = bytes_of(test_images);
  const auto h = hashes(test, test_bytes);
  std::int64_t leaks = 0;
  for (std::int64_t i = 0; i < test.size(); ++i) {
    const auto it = index.find(h[static_cast<size_t>(i)]);
    if (it == index.end()) continue;
    for (const auto& [r, j] : it->second) {
      if (std::memcmp(refs[r].bytes.at(j), test_bytes.at(i), test_bytes.stride) == 0) {
        ++leaks;
        if (examples.size() < max_examples) {
          examples.push_back({refs[r].split->origin(j), test.origin(i)});
        }
        break;
      }
    }
  }
  return leaks;
}

namespace {

struct NamedSplit {
  const char* name;
  const SourceSplit* split;
};

std::vector<NamedSplit> splits_of(const SourceData& source) {
  std::vector<NamedSplit> out = {{"train", &source.train}};
  if (source.validation) out.push_back({"validation", &*source.validation});
  if (source.test) out.push_back({"test", &*source.test});
  return out;
}

std::string range_text(int k) { return "0.." + std::to_string(k - 1); }

}  // namespace

LabelCheck check_labels(const SourceData& source, const DatasetSpec& spec) {
  LabelCheck check;
  const auto& train = source.train;
  if (train.size() == 0) throw DataError(spec.path + ": no training images");
  auto add_error = [&](std::string message) {
    if (check.errors.size() < kMaxLabelErrors) check.errors.push_back(std::move(message));
    ++check.error_count;
  };

  // Declared classes: the spec's, else the source's own (class folders, CIFAR's name files).
  int declared = 0;
  std::string declared_by;
  if (spec.num_classes > 0) {
    declared = spec.num_classes;
    declared_by = "dataset.num_classes is " + std::to_string(declared);
  } else if (!spec.class_names.empty()) {
    declared = static_cast<int>(spec.class_names.size());
    declared_by = "dataset.class_names has " + std::to_string(declared);
  } else if (!source.class_names.empty()) {
    declared = static_cast<int>(source.class_names.size());
    declared_by = "the source names " + std::to_string(declared) + " classes";
  }
  if (!spec.class_names.empty() && !source.class_names.empty() &&
      spec.class_names.size() != source.class_names.size()) {
    throw DataError(spec.path + ": dataset.class_names lists " +
                    std::to_string(spec.class_names.size()) + " classes but the source has " +
                    std::to_string(source.class_names.size()));
  }

  std::int64_t max_label = -1;
  std::set<std::int64_t> in_train, above_all;
  for (const auto& [name, split] : splits_of(source)) {
    const auto labels = split->data.labels.contiguous();
    const auto* l = labels.data_ptr<std::int64_t>();
    for (std::int64_t i = 0; i < split->size(); ++i) {
      if (l[i] < 0) {
        add_error(split->label_origin(i) + ": label " + std::to_string(l[i]) + " is negative");
        continue;
      }
      max_label = std::max(max_label, l[i]);
      if (split == &train) in_train.insert(l[i]);
    }
  }
  if (max_label > 1'000'000) max_label = 1'000'000;  // absurd labels are reported, not sized

  int k = declared;
  std::string hint = declared_by.empty() ? "" : " (" + declared_by + ")";
  if (declared == 0) {
    // Discovered: max label + 1, and every class must have a training image. When the labels
    // form 0..P-1 plus a few far ones (a 200 among ten digits), those few are the errors.
    const auto all = static_cast<int>(max_label + 1);
    int prefix = 0;
    while (prefix < all && in_train.count(prefix)) ++prefix;
    k = all;
    if (prefix < all) {
      std::set<std::int64_t> above;
      for (const auto& [name, split] : splits_of(source)) {
        const auto labels = split->data.labels.contiguous();
        const auto* l = labels.data_ptr<std::int64_t>();
        for (std::int64_t i = 0; i < split->size(); ++i) {
          if (l[i] >= prefix) above.insert(l[i]);
        }
      }
      if (prefix >= 2 && above.size() < static_cast<size_t>(prefix)) {
        k = prefix;
        hint = " (set dataset.num_classes if " + std::to_string(all) + " classes are meant)";
      } else {
        std::string missing;
        int listed = 0;
        for (int c = 0; c < all; ++c) {
          if (in_train.count(c)) continue;
          if (listed++ < 10) missing += (missing.empty() ? "" : ", ") + std::to_string(c);
        }
        if (listed > 10) missing += " and " + std::to_string(listed - 10) + " more";
        const auto where = train.labels_file.empty() ? spec.path : train.labels_file;
        add_error(where + ": labels run to " + std::to_string(max_label) + " but class(es) " +
                  missing + " have no training image; set dataset.num_classes (or class_names) " +
                  "if " + std::to_string(all) + " classes are meant");
      }
    }
  }
  if (k < 2) {
    throw DataError(spec.path + ": only one class (label 0) in the training split; a classifier " +
                    "needs at least 2");
  }
  for (const auto& [name, split] : splits_of(source)) {
    const auto labels = split->data.labels.contiguous();
    const auto* l = labels.data_ptr<std::int64_t>();
    for (std::int64_t i = 0; i < split->size(); ++i) {
      if (l[i] >= k) {
        add_error(split->label_origin(i) + ": label " + std::to_string(l[i]) + " is outside the " +
                  std::to_string(k) + " classes " + range_text(k) + hint);
      }
    }
  }
  check.num_classes = k;
  if (!spec.class_names.empty()) {
    check.class_names = spec.class_names;
  } else if (static_cast<int>(source.class_names.size()) == k) {
    check.class_names = source.class_names;
  } else {
    for (int c = 0; c < k; ++c) check.class_names.push_back(std::to_string(c));
  }
  return check;
}

}  // namespace nasforge::trainer
