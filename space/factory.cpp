#include "common/errors.h"
#include "common/json_config.h"
#include "space/block_space.h"
#include "space/nb201_space.h"

namespace nasforge::space {

std::unique_ptr<SearchSpace> make_search_space(const nlohmann::json& config,
                                               const std::string& where) {
  config::require_object(config, where);
  const auto type = config::required<std::string>(config, "type", where);
  if (type == BlockSpace::kType) return std::make_unique<BlockSpace>(config, where);
  if (type == Nb201Space::kType) return std::make_unique<Nb201Space>(config, where);
  throw ConfigError(where + ".type: unknown search space '" + type + "'; expected blocks or nb201");
}

}  // namespace nasforge::space
