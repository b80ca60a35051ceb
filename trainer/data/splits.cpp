// load_splits: the source (through the cache), cleaned, split into train / validation / test.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cmath>

#include "common/errors.h"
#include "common/log.h"
#include "trainer/data/cleaning.h"
#include "trainer/data/source_loader.h"
#include "trainer/dataset.h"

namespace nasforge::trainer {

namespace {

std::string shape_text(const at::Tensor& images) {
  return std::to_string(images.size(1)) + "x" + std::to_string(images.size(2)) + "x" +
         std::to_string(images.size(3));
}

// Every split must have the training images' channels and size.
void check_shapes(const SourceData& source, const DatasetSpec& spec) {
  const auto& train = source.train.data.images;
  auto check = [&](const std::optional<SourceSplit>& split, const char* name) {
    if (!split || split->size() == 0) return;
    const auto& images = split->data.images;
    if (images.size(1) != train.size(1) || images.size(2) != train.size(2) ||
        images.size(3) != train.size(3)) {
      throw DataError(split->origin(0) + ": " + name + " images are " + shape_text(images) +
                      " (CxHxW) but training images are " + shape_text(train) + " (" + spec.path +
                      ")");
    }
  };
  check(source.validation, "validation");
  check(source.test, "test");
}

std::vector<std::int64_t> class_counts(const at::Tensor& labels, int k) {
  std::vector<std::int64_t> counts(static_cast<size_t>(k), 0);
  const auto l = labels.contiguous();
  const auto* p = l.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < l.numel(); ++i) {
    if (p[i] >= 0 && p[i] < k) ++counts[static_cast<size_t>(p[i])];
  }
  return counts;
}

// Drops (or only counts) exact duplicates within each split, and counts test images that also
// appear in training.
void clean(SourceData& source, const DatasetSpec& spec, DataReport& report) {
  report.duplicates_dropped = spec.drop_duplicates;
  auto dedup = [&](SourceSplit& split, const char* name) {
    auto found = find_duplicates(split);
    report.duplicates[name] = found.count;
    report.duplicate_examples[name] = std::move(found.examples);
    if (spec.drop_duplicates && found.count > 0) split = split.select(found.keep);
  };
  dedup(source.train, "train");
  if (source.validation) dedup(*source.validation, "validation");
  if (source.test) dedup(*source.test, "test");
  if (source.test) {
    std::vector<const SourceSplit*> reference = {&source.train};
    if (source.validation) reference.push_back(&*source.validation);
    report.leakage = count_leakage(reference, *source.test, report.leakage_examples);
  }
}

// Stratified: per class, round(fraction * n_c) images (at least 1 when the class has 2 or more,
// and never all of them) go to validation, drawn by a permutation seeded by split_seed alone.
void stratified_split(const SourceSplit& full, int k, const DatasetSpec& spec,
                      std::vector<std::int64_t>& train, std::vector<std::int64_t>& validation) {
  const auto counts = class_counts(full.data.labels, k);
  std::vector<std::int64_t> quota(counts.size());
  for (size_t c = 0; c < counts.size(); ++c) {
    auto q = static_cast<std::int64_t>(
        std::llround(static_cast<double>(counts[c]) * spec.validation_fraction));
    if (counts[c] >= 2) q = std::clamp<std::int64_t>(q, 1, counts[c] - 1);
    quota[c] = counts[c] >= 2 ? q : 0;
  }
  auto gen = at::make_generator<at::CPUGeneratorImpl>(spec.split_seed);
  const auto perm = at::randperm(full.size(), gen, at::kLong);
  const auto* p = perm.data_ptr<std::int64_t>();
  const auto labels = full.data.labels.contiguous();
  const auto* l = labels.data_ptr<std::int64_t>();
  std::vector<std::int64_t> taken(counts.size(), 0);
  for (std::int64_t i = 0; i < full.size(); ++i) {
    if (l[p[i]] < 0 || l[p[i]] >= k) {  // only while inspecting labels outside the classes
      train.push_back(p[i]);
      continue;
    }
    const auto c = static_cast<size_t>(l[p[i]]);
    if (taken[c] < quota[c]) {
      ++taken[c];
      validation.push_back(p[i]);
    } else {
      train.push_back(p[i]);
    }
  }
}

Dataset dataset_of(const SourceSplit& split) {
  return {split.data.images.contiguous(), split.data.labels.contiguous()};
}

DataSplits build(const DatasetSpec& spec, bool collect_label_errors) {
  CacheUse use = CacheUse::kNone;
  auto source = load_source(spec, &use);
  DataSplits splits;
  auto& report = splits.report;
  report.source = spec.format + " " + spec.path;
  report.from_cache = use == CacheUse::kHit;
  report.shapes_found = source.shapes_found;
  for (const auto& s : source.skipped) report.skipped.push_back({s.path, s.reason});
  if (source.train.size() == 0) throw DataError(spec.path + ": no training images");
  check_shapes(source, spec);
  clean(source, spec, report);

  auto labels = check_labels(source, spec);
  if (labels.error_count > 0) {
    if (!collect_label_errors) {
      throw DataError(labels.errors.front() +
                      (labels.error_count > 1
                           ? " (and " + std::to_string(labels.error_count - 1) + " more)"
                           : ""));
    }
    report.label_errors = labels.errors;
    if (labels.error_count > static_cast<std::int64_t>(labels.errors.size())) {
      report.label_errors.push_back(
          "... and " +
          std::to_string(labels.error_count - static_cast<std::int64_t>(labels.errors.size())) +
          " more");
    }
  }
  splits.num_classes = labels.num_classes;
  splits.class_names = labels.class_names;
  report.class_names = labels.class_names;

  if (source.validation) {
    splits.train = dataset_of(source.train);
    splits.validation = dataset_of(*source.validation);
    if (spec.train_subset > 0 && spec.train_subset < splits.train.size()) {
      auto gen = at::make_generator<at::CPUGeneratorImpl>(spec.split_seed);
      auto pick = at::randperm(splits.train.size(), gen, at::kLong).narrow(0, 0, spec.train_subset);
      splits.train = {splits.train.images.index_select(0, pick).contiguous(),
                      splits.train.labels.index_select(0, pick).contiguous()};
    }
  } else {
    std::vector<std::int64_t> train, validation;
    stratified_split(source.train, labels.num_classes, spec, train, validation);
    if (spec.train_subset > 0 && static_cast<std::int64_t>(train.size()) > spec.train_subset) {
      train.resize(static_cast<size_t>(spec.train_subset));
    }
    splits.train = dataset_of(source.train.select(train));
    splits.validation = dataset_of(source.train.select(validation));
  }
  if (source.test) {
    splits.test = dataset_of(*source.test);
  } else {  // no test split: empty, of the right shape, so that callers can test for size() == 0
    const auto& images = source.train.data.images;
    splits.test = {at::empty({0, images.size(1), images.size(2), images.size(3)}, at::kByte),
                   at::empty({0}, at::kLong)};
  }
  if (splits.train.size() == 0)
    throw DataError(spec.path + ": no training images left after the split");
  if (splits.validation.size() == 0) {
    throw DataError(spec.path + ": the validation split is empty (each class needs 2 images, or " +
                    "raise dataset.validation_fraction)");
  }

  const int k = splits.num_classes;
  report.per_class["train"] = class_counts(splits.train.labels, k);
  report.per_class["validation"] = class_counts(splits.validation.labels, k);
  if (splits.test.size() > 0) report.per_class["test"] = class_counts(splits.test.labels, k);

  splits.natural_images = source.natural_images;
  splits.shape = {static_cast<int>(splits.train.images.size(1)),
                  static_cast<int>(splits.train.images.size(2)),
                  static_cast<int>(splits.train.images.size(3))};
  auto as_float = splits.train.images.to(at::kFloat).div_(255);
  auto mean = as_float.mean({0, 2, 3});
  auto std = as_float.std({0, 2, 3});
  for (int c = 0; c < splits.shape.channels; ++c) {
    splits.mean.push_back(mean[c].item<float>());
    splits.std.push_back(std::max(std[c].item<float>(), 1e-3f));
  }
  return splits;
}

}  // namespace

DataSplits load_splits(const DatasetSpec& spec) {
  auto splits = build(spec, /*collect_label_errors=*/false);
  const auto& r = splits.report;
  if (!r.skipped.empty()) {
    log::warn(spec.path + ": skipped " + std::to_string(r.skipped.size()) +
              " file(s) that could not be used, e.g. " + r.skipped.front().first + " (" +
              r.skipped.front().second + ")");
  }
  if (r.duplicates_dropped_count() > 0) {
    log::info(spec.path + ": dropped " + std::to_string(r.duplicates_dropped_count()) +
              " exact duplicate image(s)");
  }
  if (r.leakage > 0) {
    log::warn(spec.path + ": " + std::to_string(r.leakage) +
              " test image(s) also appear in the training data (see `nasforge data inspect`)");
  }
  return splits;
}

DataReport inspect_data(const DatasetSpec& spec) {
  return build(spec, /*collect_label_errors=*/true).report;
}

}  // namespace nasforge::trainer
