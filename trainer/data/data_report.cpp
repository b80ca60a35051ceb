#include "trainer/dataset.h"

namespace nasforge::trainer {

std::int64_t DataReport::duplicates_dropped_count() const {
  if (!duplicates_dropped) return 0;
  std::int64_t total = 0;
  for (const auto& [split, count] : duplicates) total += count;
  return total;
}

std::vector<std::string> DataReport::small_classes(std::int64_t threshold) const {
  // The training data: the train and validation splits together.
  std::vector<std::int64_t> total(class_names.size(), 0);
  for (const char* split : {"train", "validation"}) {
    const auto it = per_class.find(split);
    if (it == per_class.end()) continue;
    if (total.size() < it->second.size()) total.resize(it->second.size(), 0);
    for (size_t c = 0; c < it->second.size(); ++c) total[c] += it->second[c];
  }
  std::vector<std::string> out;
  for (size_t c = 0; c < total.size(); ++c) {
    if (total[c] < threshold) {
      out.push_back(c < class_names.size() ? class_names[c] : std::to_string(c));
    }
  }
  return out;
}

nlohmann::json DataReport::to_json() const {
  auto pairs = [](const std::vector<DuplicatePair>& list) {
    auto j = nlohmann::json::array();
    for (const auto& p : list) j.push_back({p.kept, p.dropped});
    return j;
  };
  nlohmann::json j = {{"source", source},
                      {"class_names", class_names},
                      {"per_class", per_class},
                      {"shapes_found", shapes_found},
                      {"skipped_count", skipped_count()},
                      {"duplicates", duplicates},
                      {"duplicates_dropped", duplicates_dropped_count()},
                      {"leakage", leakage},
                      {"leakage_examples", pairs(leakage_examples)},
                      {"from_cache", from_cache}};
  // The first skipped files, not thousands of lines.
  auto skipped_list = nlohmann::json::array();
  for (size_t i = 0; i < skipped.size() && i < 100; ++i) {
    skipped_list.push_back({{"file", skipped[i].first}, {"reason", skipped[i].second}});
  }
  j["skipped"] = skipped_list;
  auto examples = nlohmann::json::object();
  for (const auto& [split, list] : duplicate_examples) examples[split] = pairs(list);
  j["duplicate_examples"] = examples;
  if (!label_errors.empty()) j["label_errors"] = label_errors;
  return j;
}

}  // namespace nasforge::trainer
