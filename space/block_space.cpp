#include "space/block_space.h"

#include <sstream>

#include "common/errors.h"
#include "common/json_config.h"

namespace nasforge::space {

namespace cfg = nasforge::config;

std::string to_string(BlockType type) {
  switch (type) {
    case BlockType::kBasic:
      return "basic";
    case BlockType::kBottleneck:
      return "bottleneck";
    case BlockType::kDense:
      return "dense";
  }
  throw InternalError("unknown BlockType");
}

BlockType parse_block_type(const std::string& name, const std::string& where) {
  if (name == "basic" || name == "residual-basic") return BlockType::kBasic;
  if (name == "bottleneck" || name == "residual-bottleneck") return BlockType::kBottleneck;
  if (name == "dense") return BlockType::kDense;
  throw ConfigError(where + ": unknown block type '" + name +
                    "'; expected basic, bottleneck or dense");
}

namespace {

std::vector<int> positive_ints(const nlohmann::json& stage, const char* key,
                               const std::string& where, std::vector<int> fallback, int hi) {
  if (!stage.contains(key)) return fallback;
  auto values = cfg::list_of<int>(stage.at(key), where + "." + key);
  for (size_t i = 0; i < values.size(); ++i) {
    cfg::in_range(values[i], 1, hi, where + "." + key + "[" + std::to_string(i) + "]");
  }
  return values;
}

std::vector<std::string> as_strings(const std::vector<int>& values) {
  std::vector<std::string> out;
  for (int v : values) out.push_back(std::to_string(v));
  return out;
}

int index_of(const std::vector<int>& values, int v, const std::string& what) {
  for (size_t i = 0; i < values.size(); ++i) {
    if (values[i] == v) return static_cast<int>(i);
  }
  throw ConfigError("blocks architecture: " + what + " " + std::to_string(v) +
                    " is not offered by this space");
}

}  // namespace

BlockSpace::BlockSpace(const nlohmann::json& config, const std::string& where) : config_(config) {
  cfg::require_object(config, where);
  cfg::reject_unknown_keys(config, where, {"type", "stem_width", "stages"});
  stem_width_ = cfg::in_range(cfg::optional<int>(config, "stem_width", where, 16), 1, 4096,
                              where + ".stem_width");
  if (!config.contains("stages") || !config.at("stages").is_array() ||
      config.at("stages").empty()) {
    throw ConfigError(where + ".stages: expected a non-empty array of stage objects");
  }
  const auto& stages = config.at("stages");
  for (size_t s = 0; s < stages.size(); ++s) {
    const std::string at = where + ".stages[" + std::to_string(s) + "]";
    const auto& stage = stages[s];
    cfg::require_object(stage, at);
    cfg::reject_unknown_keys(stage, at, {"block", "depth", "width", "growth_rate", "kernel"});
    StageOptions options;
    std::vector<std::string> block_names =
        stage.contains("block") ? cfg::list_of<std::string>(stage.at("block"), at + ".block")
                                : std::vector<std::string>{"basic"};
    for (size_t b = 0; b < block_names.size(); ++b) {
      options.blocks.push_back(
          parse_block_type(block_names[b], at + ".block[" + std::to_string(b) + "]"));
    }
    options.depths = positive_ints(stage, "depth", at, {1}, 64);
    options.widths = positive_ints(stage, "width", at, {16 << s}, 4096);
    options.growth_rates = positive_ints(stage, "growth_rate", at, {12}, 1024);
    options.kernels = positive_ints(stage, "kernel", at, {3}, 11);
    for (size_t k = 0; k < options.kernels.size(); ++k) {
      if (options.kernels[k] % 2 == 0) {
        throw ConfigError(at + ".kernel[" + std::to_string(k) + "]: kernel size " +
                          std::to_string(options.kernels[k]) + " must be odd");
      }
    }
    const std::string prefix = "stage" + std::to_string(s) + ".";
    std::vector<std::string> block_labels;
    for (auto b : options.blocks) block_labels.push_back(to_string(b));
    decisions_.push_back({prefix + "block", block_labels});
    decisions_.push_back({prefix + "depth", as_strings(options.depths)});
    decisions_.push_back({prefix + "width", as_strings(options.widths)});
    decisions_.push_back({prefix + "growth_rate", as_strings(options.growth_rates)});
    decisions_.push_back({prefix + "kernel", as_strings(options.kernels)});
    stage_options_.push_back(std::move(options));
  }
  if (!config_.contains("type")) config_["type"] = kType;
}

std::vector<int> BlockSpace::canonicalize(std::vector<int> choices) const {
  for (size_t s = 0; s < stage_options_.size(); ++s) {
    const size_t base = s * kDecisionsPerStage;
    const auto block = stage_options_[s].blocks[static_cast<size_t>(choices[base])];
    if (block != BlockType::kDense) choices[base + 3] = 0;  // growth rate unused by residual blocks
  }
  return choices;
}

std::vector<StageChoice> BlockSpace::stages(const Architecture& arch) const {
  if (arch.space_type() != kType || arch.choices().size() != decisions_.size()) {
    throw ConfigError("architecture '" + arch.canonical() +
                      "' does not belong to this blocks space");
  }
  std::vector<StageChoice> out;
  for (size_t s = 0; s < stage_options_.size(); ++s) {
    const auto& o = stage_options_[s];
    const auto* c = arch.choices().data() + s * kDecisionsPerStage;
    out.push_back({o.blocks[static_cast<size_t>(c[0])], o.depths[static_cast<size_t>(c[1])],
                   o.widths[static_cast<size_t>(c[2])], o.growth_rates[static_cast<size_t>(c[3])],
                   o.kernels[static_cast<size_t>(c[4])]});
  }
  return out;
}

std::string BlockSpace::canonical_string(const std::vector<int>& choices) const {
  std::ostringstream out;
  for (size_t s = 0; s < stage_options_.size(); ++s) {
    const auto& o = stage_options_[s];
    const auto* c = choices.data() + s * kDecisionsPerStage;
    const auto block = o.blocks[static_cast<size_t>(c[0])];
    if (s > 0) out << '/';
    out << to_string(block) << "-d" << o.depths[static_cast<size_t>(c[1])];
    if (block == BlockType::kDense) out << "-g" << o.growth_rates[static_cast<size_t>(c[3])];
    out << "-w" << o.widths[static_cast<size_t>(c[2])] << "-k"
        << o.kernels[static_cast<size_t>(c[4])];
  }
  return out.str();
}

Architecture BlockSpace::parse(const std::string& canonical) const {
  std::vector<int> choices;
  std::istringstream stages_in(canonical);
  std::string stage_text;
  size_t s = 0;
  while (std::getline(stages_in, stage_text, '/')) {
    if (s >= stage_options_.size()) {
      throw ConfigError("blocks architecture '" + canonical + "': more stages than the space has");
    }
    const auto& o = stage_options_[s];
    std::istringstream parts(stage_text);
    std::string token;
    std::getline(parts, token, '-');
    const auto block = parse_block_type(token, "blocks architecture '" + canonical + "'");
    int depth = -1, width = -1, growth = o.growth_rates[0], kernel = -1;
    while (std::getline(parts, token, '-')) {
      if (token.size() < 2) throw ConfigError("blocks architecture '" + canonical + "': bad token");
      const int value = std::stoi(token.substr(1));
      switch (token[0]) {
        case 'd':
          depth = value;
          break;
        case 'w':
          width = value;
          break;
        case 'g':
          growth = value;
          break;
        case 'k':
          kernel = value;
          break;
        default:
          throw ConfigError("blocks architecture '" + canonical + "': bad token '" + token + "'");
      }
    }
    int block_index = -1;
    for (size_t b = 0; b < o.blocks.size(); ++b) {
      if (o.blocks[b] == block) block_index = static_cast<int>(b);
    }
    if (block_index < 0) {
      throw ConfigError("blocks architecture: block " + to_string(block) +
                        " not offered in stage " + std::to_string(s));
    }
    choices.push_back(block_index);
    choices.push_back(index_of(o.depths, depth, "depth"));
    choices.push_back(index_of(o.widths, width, "width"));
    choices.push_back(index_of(o.growth_rates, growth, "growth rate"));
    choices.push_back(index_of(o.kernels, kernel, "kernel"));
    ++s;
  }
  if (s != stage_options_.size()) {
    throw ConfigError("blocks architecture '" + canonical + "': expected " +
                      std::to_string(stage_options_.size()) + " stages");
  }
  return make(std::move(choices));
}

}  // namespace nasforge::space
