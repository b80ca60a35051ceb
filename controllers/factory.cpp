#include "common/errors.h"
#include "common/json_config.h"
#include "controllers/controller.h"
#include "controllers/evolution.h"
#include "controllers/random_search.h"
#include "controllers/reinforce.h"

namespace nasforge::controllers {

std::unique_ptr<Controller> make_controller(const nlohmann::json& config,
                                            const space::SearchSpace& space, std::uint64_t seed,
                                            const std::string& where) {
  config::require_object(config, where);
  const auto type = config::required<std::string>(config, "type", where);
  if (type == RandomSearch::kType) {
    config::reject_unknown_keys(config, where, {"type"});
    return std::make_unique<RandomSearch>(space, seed);
  }
  if (type == RegularizedEvolution::kType) {
    return std::make_unique<RegularizedEvolution>(space, seed,
                                                  EvolutionOptions::from_json(config, where));
  }
  if (type == Reinforce::kType) {
    return std::make_unique<Reinforce>(space, seed, ReinforceOptions::from_json(config, where));
  }
  throw ConfigError(where + ".type: unknown controller '" + type +
                    "'; expected random, evolution or reinforce");
}

}  // namespace nasforge::controllers
