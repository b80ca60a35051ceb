#include "space/nb201_space.h"

#include "common/errors.h"
#include "common/json_config.h"

namespace nasforge::space {

namespace cfg = nasforge::config;

Nb201Space::Nb201Space(const nlohmann::json& config, const std::string& where) : config_(config) {
  cfg::require_object(config, where);
  cfg::reject_unknown_keys(config, where, {"type", "channels", "cells_per_stage"});
  channels_ = cfg::in_range(cfg::optional<int>(config, "channels", where, 16), 1, 1024,
                            where + ".channels");
  cells_per_stage_ = cfg::in_range(cfg::optional<int>(config, "cells_per_stage", where, 5), 1, 32,
                                   where + ".cells_per_stage");
  std::vector<std::string> ops(kOperations.begin(), kOperations.end());
  for (int e = 0; e < kEdges; ++e) {
    decisions_.push_back({"edge" + std::to_string(kEdgeFrom[static_cast<size_t>(e)]) + "->" +
                              std::to_string(kEdgeTo[static_cast<size_t>(e)]),
                          ops});
  }
  if (!config_.contains("type")) config_["type"] = kType;
}

std::string Nb201Space::canonical_string(const std::vector<int>& choices) const {
  std::string out;
  for (int e = 0; e < kEdges; ++e) {
    const int to = kEdgeTo[static_cast<size_t>(e)];
    const int from = kEdgeFrom[static_cast<size_t>(e)];
    if (from == 0 && to > 1) out += "+";
    out += "|";
    out += kOperations[static_cast<size_t>(choices[static_cast<size_t>(e)])];
    out += '~';
    out += std::to_string(from);
    if (from == to - 1) out += "|";
  }
  return out;
}

Architecture Nb201Space::parse(const std::string& canonical) const {
  std::vector<int> choices;
  size_t pos = 0;
  while (choices.size() < static_cast<size_t>(kEdges)) {
    pos = canonical.find('|', pos);
    if (pos == std::string::npos) break;
    const size_t end = canonical.find('|', pos + 1);
    if (end == std::string::npos) break;
    const std::string token = canonical.substr(pos + 1, end - pos - 1);
    pos = end;
    if (token.empty() || token == "+") {
      continue;
    }
    const size_t tilde = token.find('~');
    const std::string op = token.substr(0, tilde);
    int index = -1;
    for (size_t o = 0; o < kOperations.size(); ++o) {
      if (op == kOperations[o]) index = static_cast<int>(o);
    }
    const size_t e = choices.size();
    if (index < 0 || tilde == std::string::npos ||
        token.substr(tilde + 1) != std::to_string(kEdgeFrom[e])) {
      throw ConfigError("nb201 architecture '" + canonical + "': bad edge '" + token + "'");
    }
    choices.push_back(index);
  }
  auto arch = make(std::move(choices));
  if (arch.canonical() != canonical) {
    throw ConfigError("nb201 architecture '" + canonical +
                      "' is not in canonical form; expected '" + arch.canonical() + "'");
  }
  return arch;
}

}  // namespace nasforge::space
