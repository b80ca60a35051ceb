#include "app/data_command.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "common/errors.h"
#include "search/experiment.h"

namespace nasforge::search {

namespace fs = std::filesystem;

namespace {

constexpr size_t kShown = 10;  // examples listed per kind of problem

std::string class_name(const trainer::DataReport& report, size_t c) {
  return c < report.class_names.size() ? report.class_names[c] : std::to_string(c);
}

void print_table(const trainer::DataReport& report, std::ostream& out) {
  std::vector<std::string> splits;
  for (const char* s : {"train", "validation", "test"}) {
    if (report.per_class.count(s)) splits.push_back(s);
  }
  size_t classes = 0;
  size_t width = 5;
  for (const auto& [split, counts] : report.per_class) classes = std::max(classes, counts.size());
  for (size_t c = 0; c < classes; ++c) width = std::max(width, class_name(report, c).size());
  out << "images per class:\n  " << std::left << std::setw(static_cast<int>(width)) << "class";
  for (const auto& s : splits) out << std::right << std::setw(12) << s;
  out << "\n";
  std::map<std::string, std::int64_t> totals;
  for (size_t c = 0; c < classes; ++c) {
    out << "  " << std::left << std::setw(static_cast<int>(width)) << class_name(report, c);
    for (const auto& s : splits) {
      const auto& counts = report.per_class.at(s);
      const auto n = c < counts.size() ? counts[c] : 0;
      totals[s] += n;
      out << std::right << std::setw(12) << n;
    }
    out << "\n";
  }
  out << "  " << std::left << std::setw(static_cast<int>(width)) << "total";
  for (const auto& s : splits) out << std::right << std::setw(12) << totals[s];
  out << "\n";
}

}  // namespace

void print_data_report(const trainer::DataReport& report, std::ostream& out) {
  out << "source: " << report.source << (report.from_cache ? " (read from the cache)" : "") << "\n";
  out << "classes: " << report.class_names.size() << "\n";
  out << "sizes and channels found:";
  for (const auto& [shape, count] : report.shapes_found)
    out << " " << shape << " (" << count << ")";
  out << "\n";
  print_table(report, out);

  out << "files skipped (cannot be read or decoded): " << report.skipped.size() << "\n";
  for (size_t i = 0; i < report.skipped.size() && i < kShown; ++i) {
    out << "  " << report.skipped[i].first << ": " << report.skipped[i].second << "\n";
  }
  if (report.skipped.size() > kShown) {
    out << "  ... and " << report.skipped.size() - kShown << " more\n";
  }

  for (const char* split : {"train", "validation", "test"}) {
    const auto found = report.duplicates.find(split);
    if (found == report.duplicates.end()) continue;
    const auto count = found->second;
    out << "exact duplicates in " << split << ": " << count;
    if (count > 0)
      out << (report.duplicates_dropped ? " (dropped)" : " (kept: drop_duplicates is off)");
    out << "\n";
    const auto it = report.duplicate_examples.find(split);
    if (it == report.duplicate_examples.end()) continue;
    for (const auto& pair : it->second) out << "  " << pair.dropped << " = " << pair.kept << "\n";
  }
  out << "test images also in the training data (leakage): " << report.leakage << "\n";
  for (const auto& pair : report.leakage_examples) {
    out << "  " << pair.dropped << " = " << pair.kept << "\n";
  }

  out << "labels outside the classes: " << (report.label_errors.empty() ? "none" : "") << "\n";
  for (const auto& e : report.label_errors) out << "  " << e << "\n";

  const auto small = report.small_classes(5);
  out << "classes with fewer than 5 images: " << small.size();
  for (size_t i = 0; i < small.size() && i < kShown; ++i) out << (i ? ", " : " (") << small[i];
  if (!small.empty()) out << (small.size() > kShown ? ", ...)" : ")");
  out << "\n";
}

void inspect_dataset(const trainer::DatasetSpec& spec, std::ostream& out) {
  const auto report = trainer::inspect_data(spec);
  print_data_report(report, out);
  if (!report.label_errors.empty()) {
    throw DataError(report.label_errors.front() +
                    (report.label_errors.size() > 1 ? " (more listed above)" : ""));
  }
}

trainer::DatasetSpec dataset_spec_from_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ": cannot read the file");
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(in, nullptr, true, /*ignore_comments=*/true);
  } catch (const nlohmann::json::parse_error& e) {
    throw ConfigError(path + ": malformed JSON (" + std::string(e.what()) + ")");
  }
  if (j.is_object() && j.contains("space")) {
    const auto experiment = load_experiment_file(path);
    if (!experiment.trains()) {
      throw ConfigError(path + ": the experiment reads a benchmark table, not a dataset");
    }
    return experiment.dataset;
  }
  // A file holding a dataset object (or {"dataset": {...}}); its path is relative to the file.
  const auto& object = j.is_object() && j.contains("dataset") ? j.at("dataset") : j;
  auto spec = trainer::DatasetSpec::from_json(object, path + ": dataset");
  if (!spec.path.empty() && fs::path(spec.path).is_relative()) {
    spec.path = (fs::absolute(path).parent_path() / spec.path).lexically_normal().string();
  }
  return spec;
}

trainer::DatasetSpec dataset_spec_from_flags(const std::optional<std::string>& format,
                                             const std::optional<std::string>& path,
                                             std::optional<int> image_size,
                                             std::optional<int> channels) {
  nlohmann::json j = nlohmann::json::object();
  if (format) j["format"] = *format;
  if (path) j["path"] = *path;
  if (image_size) j["image_size"] = *image_size;
  if (channels) j["channels"] = *channels;
  return trainer::DatasetSpec::from_json(j, "data inspect");
}

}  // namespace nasforge::search
