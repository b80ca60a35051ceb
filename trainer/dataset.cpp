#include "trainer/dataset.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include "common/errors.h"
#include "common/json_config.h"

namespace nasforge::trainer {

namespace cfg = nasforge::config;

DatasetSpec DatasetSpec::from_json(const nlohmann::json& j, const std::string& where) {
  cfg::require_object(j, where);
  cfg::reject_unknown_keys(j, where,
                           {"name", "path", "validation_fraction", "train_subset", "split_seed"});
  DatasetSpec spec;
  spec.name = cfg::optional<std::string>(j, "name", where, spec.name);
  if (spec.name != "fashion-mnist" && spec.name != "cifar10" && spec.name != "synthetic") {
    throw ConfigError(where + ".name: unknown dataset '" + spec.name +
                      "'; expected fashion-mnist or cifar10");
  }
  spec.path = cfg::optional<std::string>(j, "path", where,
                                         spec.name == "fashion-mnist" ? spec.path : std::string());
  if (spec.path.empty() && spec.name == "cifar10") {
    throw ConfigError(where + ".path: required for cifar10 (the folder with data_batch_1.bin)");
  }
  spec.validation_fraction = cfg::optional<double>(j, "validation_fraction", where, 0.1);
  if (!(spec.validation_fraction > 0 && spec.validation_fraction < 1)) {
    throw ConfigError(where + ".validation_fraction: must be in (0, 1)");
  }
  spec.train_subset =
      cfg::in_range<std::int64_t>(cfg::optional<std::int64_t>(j, "train_subset", where, 0), 0,
                                  1'000'000'000, where + ".train_subset");
  spec.split_seed = cfg::optional<std::uint64_t>(j, "split_seed", where, 0);
  return spec;
}

nlohmann::json DatasetSpec::to_json() const {
  return {{"name", name},
          {"path", path},
          {"validation_fraction", validation_fraction},
          {"train_subset", train_subset},
          {"split_seed", split_seed}};
}

namespace {

Dataset take(const Dataset& d, const at::Tensor& index) {
  return {d.images.index_select(0, index).contiguous(),
          d.labels.index_select(0, index).contiguous()};
}

}  // namespace

DataSplits load_splits(const DatasetSpec& spec) {
  Dataset full_train, test;
  DataSplits splits;
  if (spec.name == "fashion-mnist") {
    full_train = read_fashion_mnist(spec.path, true);
    test = read_fashion_mnist(spec.path, false);
  } else if (spec.name == "cifar10") {
    full_train = read_cifar10(spec.path, true);
    test = read_cifar10(spec.path, false);
    splits.natural_images = true;
  } else {
    full_train = make_synthetic(1200, 1, 12, 4, 7);
    test = make_synthetic(300, 1, 12, 4, 8);
  }
  // The validation split: a fixed-seed permutation, independent of the search seed.
  auto gen = at::make_generator<at::CPUGeneratorImpl>(spec.split_seed);
  const auto n = full_train.size();
  auto perm = at::randperm(n, gen, at::kLong);
  const auto n_val = std::max<std::int64_t>(
      1, static_cast<std::int64_t>(static_cast<double>(n) * spec.validation_fraction));
  splits.validation = take(full_train, perm.narrow(0, 0, n_val));
  auto n_train = n - n_val;
  if (spec.train_subset > 0) n_train = std::min(n_train, spec.train_subset);
  splits.train = take(full_train, perm.narrow(0, n_val, n_train));
  splits.test = test;
  splits.num_classes = static_cast<int>(full_train.labels.max().item<std::int64_t>()) + 1;
  splits.shape = {static_cast<int>(full_train.images.size(1)),
                  static_cast<int>(full_train.images.size(2)),
                  static_cast<int>(full_train.images.size(3))};
  auto as_float = splits.train.images.to(at::kFloat).div_(255);
  auto mean = as_float.mean({0, 2, 3});
  auto std = as_float.std({0, 2, 3});
  for (int c = 0; c < splits.shape.channels; ++c) {
    splits.mean.push_back(mean[c].item<float>());
    splits.std.push_back(std::max(std[c].item<float>(), 1e-3f));
  }
  return splits;
}

}  // namespace nasforge::trainer
