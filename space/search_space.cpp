#include "space/search_space.h"

#include <cmath>

#include "common/errors.h"

namespace nasforge::space {

Architecture SearchSpace::make(std::vector<int> choices) const {
  const auto& ds = decisions();
  if (choices.size() != ds.size()) {
    throw ConfigError(type() + " architecture: expected " + std::to_string(ds.size()) +
                      " decisions, got " + std::to_string(choices.size()));
  }
  for (size_t i = 0; i < ds.size(); ++i) {
    if (choices[i] < 0 || choices[i] >= static_cast<int>(ds[i].choices.size())) {
      throw ConfigError(type() + " architecture: decision '" + ds[i].label + "' has index " +
                        std::to_string(choices[i]) + ", expected 0.." +
                        std::to_string(ds[i].choices.size() - 1));
    }
  }
  auto canonical = canonicalize(std::move(choices));
  auto text = canonical_string(canonical);
  return Architecture(type(), std::move(canonical), std::move(text));
}

nlohmann::json SearchSpace::to_json(const Architecture& arch) const {
  nlohmann::json decisions_json = nlohmann::json::object();
  const auto& ds = decisions();
  for (size_t i = 0; i < ds.size(); ++i) {
    decisions_json[ds[i].label] = ds[i].choices[static_cast<size_t>(arch.choices()[i])];
  }
  return {{"space", type()},
          {"decisions", decisions_json},
          {"canonical", arch.canonical()},
          {"hash", arch.hash()}};
}

Architecture SearchSpace::from_json(const nlohmann::json& j) const {
  if (!j.is_object() || !j.contains("decisions") || !j.at("decisions").is_object()) {
    throw ConfigError("architecture: expected an object with a \"decisions\" object");
  }
  const auto& given = j.at("decisions");
  const auto& ds = decisions();
  std::vector<int> choices;
  for (const auto& d : ds) {
    if (!given.contains(d.label)) {
      throw ConfigError("architecture: decision '" + d.label + "' is missing");
    }
    const auto& value = given.at(d.label);
    const std::string text = value.is_string() ? value.get<std::string>() : value.dump();
    int index = -1;
    for (size_t c = 0; c < d.choices.size(); ++c) {
      if (d.choices[c] == text) index = static_cast<int>(c);
    }
    if (index < 0) {
      throw ConfigError("architecture: decision '" + d.label + "' has value '" + text +
                        "', which this space does not offer");
    }
    choices.push_back(index);
  }
  for (const auto& [key, value] : given.items()) {
    bool known = false;
    for (const auto& d : ds) known = known || d.label == key;
    if (!known) throw ConfigError("architecture: unknown decision '" + key + "'");
  }
  return make(std::move(choices));
}

Architecture SearchSpace::parse(const std::string& canonical) const {
  throw ConfigError(type() + " space: parsing canonical strings is not supported ('" + canonical +
                    "'); give the architecture as JSON decisions");
}

Architecture SearchSpace::random(Rng& rng) const {
  std::vector<int> choices;
  for (const auto& d : decisions())
    choices.push_back(rng.uniform_int(static_cast<int>(d.choices.size())));
  return make(std::move(choices));
}

Architecture SearchSpace::mutate(const Architecture& arch, Rng& rng) const {
  const auto& ds = decisions();
  std::vector<int> mutable_decisions;
  for (size_t i = 0; i < ds.size(); ++i) {
    if (ds[i].choices.size() > 1) mutable_decisions.push_back(static_cast<int>(i));
  }
  if (mutable_decisions.empty()) return arch;
  // A change to a decision that the network ignores (e.g. growth rate of a residual stage) is
  // no mutation; retry a bounded number of times, then accept it.
  for (int attempt = 0; attempt < 64; ++attempt) {
    auto choices = arch.choices();
    const auto i = static_cast<size_t>(mutable_decisions[static_cast<size_t>(
        rng.uniform_int(static_cast<int>(mutable_decisions.size())))]);
    const int n = static_cast<int>(ds[i].choices.size());
    const int offset = 1 + rng.uniform_int(n - 1);
    choices[i] = (choices[i] + offset) % n;
    auto child = make(std::move(choices));
    if (!(child == arch)) return child;
  }
  return arch;
}

Architecture SearchSpace::crossover(const Architecture& a, const Architecture& b, Rng& rng) const {
  std::vector<int> choices(a.choices().size());
  for (size_t i = 0; i < choices.size(); ++i) {
    choices[i] = rng.uniform_int(2) == 0 ? a.choices()[i] : b.choices()[i];
  }
  return make(std::move(choices));
}

double SearchSpace::size() const {
  double total = 1;
  for (const auto& d : decisions()) total *= static_cast<double>(d.choices.size());
  return std::min(total, std::ldexp(1.0, 62));
}

}  // namespace nasforge::space
