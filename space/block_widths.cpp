#include "space/block_widths.h"

#include <algorithm>

#include "common/errors.h"

namespace nasforge::space {

int bottleneck_inner_width(int width) { return std::max(width / 4, 4); }

BlockWidths BlockWidths::defaults(const BlockSpace& space, const Architecture& arch) {
  BlockWidths widths;
  for (const auto& st : space.stages(arch)) {
    std::vector<std::vector<int>> units;
    for (int u = 0; u < st.depth; ++u) {
      switch (st.block) {
        case BlockType::kBasic:
          units.push_back({st.width});
          break;
        case BlockType::kBottleneck:
          units.push_back({bottleneck_inner_width(st.width), bottleneck_inner_width(st.width)});
          break;
        case BlockType::kDense:
          units.push_back({st.growth_rate});
          break;
      }
    }
    widths.stages.push_back(std::move(units));
  }
  return widths;
}

nlohmann::json BlockWidths::to_json() const { return stages; }

BlockWidths BlockWidths::from_json(const nlohmann::json& j, const std::string& where) {
  const std::string expected = ": expected an array per stage of arrays per unit of widths";
  if (!j.is_array()) throw ConfigError(where + expected);
  BlockWidths widths;
  for (const auto& stage : j) {
    if (!stage.is_array()) throw ConfigError(where + expected);
    std::vector<std::vector<int>> units;
    for (const auto& unit : stage) {
      if (!unit.is_array()) throw ConfigError(where + expected);
      std::vector<int> values;
      for (const auto& w : unit) {
        if (!w.is_number_integer()) throw ConfigError(where + expected);
        values.push_back(w.get<int>());
      }
      units.push_back(std::move(values));
    }
    widths.stages.push_back(std::move(units));
  }
  return widths;
}

void BlockWidths::check(const BlockSpace& space, const Architecture& arch,
                        const std::string& where) const {
  const auto expected = defaults(space, arch);
  if (stages.size() != expected.stages.size()) {
    throw ConfigError(where + ": " + std::to_string(stages.size()) + " stages, the architecture " +
                      arch.canonical() + " has " + std::to_string(expected.stages.size()));
  }
  for (size_t s = 0; s < stages.size(); ++s) {
    const auto at = where + "[" + std::to_string(s) + "]";
    if (stages[s].size() != expected.stages[s].size()) {
      throw ConfigError(at + ": " + std::to_string(stages[s].size()) + " units, the stage has " +
                        std::to_string(expected.stages[s].size()));
    }
    for (size_t u = 0; u < stages[s].size(); ++u) {
      if (stages[s][u].size() != expected.stages[s][u].size()) {
        throw ConfigError(at + "[" + std::to_string(u) + "]: expected " +
                          std::to_string(expected.stages[s][u].size()) + " widths");
      }
      for (const int w : stages[s][u]) {
        if (w < 1) throw ConfigError(at + "[" + std::to_string(u) + "]: widths must be >= 1");
      }
    }
  }
}

}  // namespace nasforge::space
