// The experiment file's "dataset" object: every key checked, with the valid values named.
#include <set>

#include "common/errors.h"
#include "common/json_config.h"
#include "trainer/dataset.h"

namespace nasforge::trainer {

namespace cfg = nasforge::config;

namespace {

constexpr const char* kDefaultPath = "/usr/share/datasets/fashion-mnist";
const std::vector<std::string> kFormats = {"idx",   "cifar10",      "cifar100",
                                           "numpy", "image-folder", "synthetic"};

std::string format_list() {
  std::string out;
  for (size_t i = 0; i < kFormats.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == kFormats.size() ? " or " : ", ") + kFormats[i];
  }
  return out;
}

// The format an old experiment file means by its name alone.
std::string legacy_format(const std::string& name) {
  if (name == "fashion-mnist") return "idx";
  if (name == "cifar10") return "cifar10";
  if (name == "synthetic") return "synthetic";
  return "";
}

// Rejects a key that the chosen format does not read, naming the formats that do.
void only_for(const nlohmann::json& j, const char* key, const std::string& where,
              const std::string& format, std::initializer_list<const char*> formats) {
  if (!j.contains(key)) return;
  std::string names;
  for (const char* f : formats) {
    if (format == f) return;
    names += (names.empty() ? "" : " or ") + std::string(f);
  }
  throw ConfigError(where + "." + key + ": only read by format " + names + ", not " + format);
}

std::string one_of(const nlohmann::json& j, const char* key, const std::string& where,
                   const std::string& fallback, const std::set<std::string>& valid) {
  const auto value = cfg::optional<std::string>(j, key, where, fallback);
  if (!valid.count(value)) {
    std::string names;
    for (const auto& v : valid) names += (names.empty() ? "" : ", ") + v;
    throw ConfigError(where + "." + key + ": '" + value + "' is not valid; expected one of " +
                      names);
  }
  return value;
}

}  // namespace

DatasetSpec DatasetSpec::from_json(const nlohmann::json& j, const std::string& where) {
  cfg::require_object(j, where);
  cfg::reject_unknown_keys(j, where, {"name",         "format",       "path",
                                      "image_size",   "channels",     "label",
                                      "layout",       "train_images", "train_labels",
                                      "test_images",  "test_labels",  "arrays",
                                      "num_classes",  "class_names",  "drop_duplicates",
                                      "cache",        "cache_dir",    "validation_fraction",
                                      "train_subset", "split_seed"});
  DatasetSpec spec;
  const bool has_name = j.contains("name");
  spec.name = cfg::optional<std::string>(j, "name", where, "");
  if (has_name && spec.name.empty()) throw ConfigError(where + ".name: must not be empty");
  if (j.contains("format")) {
    spec.format = cfg::get_as<std::string>(j.at("format"), where + ".format");
    bool known = false;
    for (const auto& f : kFormats) known = known || f == spec.format;
    if (!known) {
      throw ConfigError(where + ".format: unknown format '" + spec.format + "'; expected " +
                        format_list());
    }
    if (!has_name)
      spec.name = spec.format == "idx" && !j.contains("path") ? "fashion-mnist" : spec.format;
  } else if (!has_name) {
    spec.name = "fashion-mnist";
    spec.format = "idx";
  } else {
    spec.format = legacy_format(spec.name);
    if (spec.format.empty()) {
      throw ConfigError(where + ".format: required for dataset '" + spec.name + "'; expected " +
                        format_list());
    }
  }
  const bool default_set = spec.format == "idx" && spec.name == "fashion-mnist";
  spec.path = cfg::optional<std::string>(j, "path", where, default_set ? kDefaultPath : "");
  if (spec.path.empty() && spec.format != "synthetic") {
    throw ConfigError(where + ".path: required for format " + spec.format +
                      " (the folder or file holding the data)");
  }

  only_for(j, "image_size", where, spec.format, {"image-folder"});
  only_for(j, "channels", where, spec.format, {"image-folder"});
  only_for(j, "label", where, spec.format, {"cifar100"});
  only_for(j, "layout", where, spec.format, {"numpy"});
  for (const char* key : {"train_images", "train_labels", "test_images", "test_labels"}) {
    only_for(j, key, where, spec.format, {"idx", "numpy"});
  }
  only_for(j, "arrays", where, spec.format, {"numpy"});

  if (j.contains("image_size")) {
    spec.image_size = cfg::get_as<int>(j.at("image_size"), where + ".image_size");
    if (spec.image_size <= 0 || spec.image_size > 4096) {
      throw ConfigError(where + ".image_size: " + std::to_string(spec.image_size) +
                        " is not valid; it must be > 0 (and at most 4096): the side images are "
                        "resized to (omit it if all images share one size)");
    }
  }
  spec.channels = cfg::optional<int>(j, "channels", where, 0);
  if (spec.channels != 0 && spec.channels != 1 && spec.channels != 3) {
    throw ConfigError(where + ".channels: " + std::to_string(spec.channels) +
                      " is not valid; expected 1 (gray), 3 (RGB) or 0 (as found)");
  }
  spec.label = one_of(j, "label", where, "fine", {"fine", "coarse"});
  spec.layout = one_of(j, "layout", where, "auto", {"auto", "nhwc", "nchw"});
  spec.train_images = cfg::optional<std::string>(j, "train_images", where, "");
  spec.train_labels = cfg::optional<std::string>(j, "train_labels", where, "");
  spec.test_images = cfg::optional<std::string>(j, "test_images", where, "");
  spec.test_labels = cfg::optional<std::string>(j, "test_labels", where, "");
  spec.arrays = cfg::optional<std::string>(j, "arrays", where, "");

  if (j.contains("num_classes")) {
    spec.num_classes =
        cfg::in_range<int>(cfg::get_as<int>(j.at("num_classes"), where + ".num_classes"), 2,
                           1'000'000, where + ".num_classes");
  }
  if (j.contains("class_names")) {
    const auto& names = j.at("class_names");
    if (!names.is_array() || names.size() < 2) {
      throw ConfigError(where + ".class_names: expected an array of at least 2 names");
    }
    std::set<std::string> seen;
    for (size_t i = 0; i < names.size(); ++i) {
      const auto at = where + ".class_names[" + std::to_string(i) + "]";
      auto name = cfg::get_as<std::string>(names[i], at);
      if (name.empty()) throw ConfigError(at + ": must not be empty");
      if (!seen.insert(name).second) throw ConfigError(at + ": '" + name + "' appears twice");
      spec.class_names.push_back(std::move(name));
    }
    if (spec.num_classes > 0 && static_cast<size_t>(spec.num_classes) != spec.class_names.size()) {
      throw ConfigError(where + ".class_names: " + std::to_string(spec.class_names.size()) +
                        " names but num_classes is " + std::to_string(spec.num_classes));
    }
  }
  spec.drop_duplicates = cfg::optional<bool>(j, "drop_duplicates", where, true);
  spec.cache = cfg::optional<bool>(j, "cache", where, true);
  spec.cache_dir = cfg::optional<std::string>(j, "cache_dir", where, "");

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
  nlohmann::json j = {{"name", name},
                      {"format", format},
                      {"path", path},
                      {"drop_duplicates", drop_duplicates},
                      {"cache", cache},
                      {"validation_fraction", validation_fraction},
                      {"train_subset", train_subset},
                      {"split_seed", split_seed}};
  if (format == "synthetic" && path.empty()) j.erase("path");
  if (format == "image-folder") {
    if (image_size > 0) j["image_size"] = image_size;
    if (channels > 0) j["channels"] = channels;
  }
  if (format == "cifar100") j["label"] = label;
  if (format == "numpy") {
    j["layout"] = layout;
    if (!arrays.empty()) j["arrays"] = arrays;
  }
  const std::pair<const char*, const std::string*> files[] = {{"train_images", &train_images},
                                                              {"train_labels", &train_labels},
                                                              {"test_images", &test_images},
                                                              {"test_labels", &test_labels}};
  for (const auto& [key, value] : files) {
    if (!value->empty()) j[key] = *value;
  }
  if (num_classes > 0) j["num_classes"] = num_classes;
  if (!class_names.empty()) j["class_names"] = class_names;
  if (!cache_dir.empty()) j["cache_dir"] = cache_dir;
  return j;
}

}  // namespace nasforge::trainer
