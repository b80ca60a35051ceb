#include "common/errors.h"
#include "common/json_config.h"
#include "controllers/controller.h"
#include "controllers/evolution.h"
#include "controllers/local_search.h"
#include "controllers/predictor.h"
#include "controllers/random_search.h"
#include "controllers/reinforce.h"

namespace nasforge::controllers {

namespace {

using Maker = std::unique_ptr<Controller> (*)(const nlohmann::json& config,
                                              const space::SearchSpace& space, std::uint64_t seed,
                                              const std::string& where);

struct Entry {
  const char* type;
  Maker make;
};

// Adding a controller: its own file (with a static from_config) and one line here.
constexpr Entry kControllers[] = {
    {RandomSearch::kType, &RandomSearch::from_config},
    {RegularizedEvolution::kType, &RegularizedEvolution::from_config},
    {Reinforce::kType, &Reinforce::from_config},
    {LocalSearch::kType, &LocalSearch::from_config},
    {PredictorSearch::kType, &PredictorSearch::from_config},
};

// "random, evolution or reinforce"
std::string valid_types() {
  const auto types = controller_types();
  std::string list;
  for (size_t i = 0; i < types.size(); ++i) {
    if (i > 0) list += i + 1 == types.size() ? " or " : ", ";
    list += types[i];
  }
  return list;
}

}  // namespace

std::vector<std::string> controller_types() {
  std::vector<std::string> types;
  for (const auto& entry : kControllers) types.emplace_back(entry.type);
  return types;
}

std::unique_ptr<Controller> make_controller(const nlohmann::json& config,
                                            const space::SearchSpace& space, std::uint64_t seed,
                                            const std::string& where) {
  config::require_object(config, where);
  const auto type = config::required<std::string>(config, "type", where);
  for (const auto& entry : kControllers) {
    if (type == entry.type) return entry.make(config, space, seed, where);
  }
  throw ConfigError(where + ".type: unknown controller '" + type + "'; expected " + valid_types());
}

}  // namespace nasforge::controllers
