#include "controllers/random_search.h"

#include "common/errors.h"
#include "common/json_config.h"

namespace nasforge::controllers {

RandomSearch::RandomSearch(const space::SearchSpace& space, std::uint64_t seed)
    : space_(space), rng_(seed) {}

std::unique_ptr<Controller> RandomSearch::from_config(const nlohmann::json& config,
                                                      const space::SearchSpace& space,
                                                      std::uint64_t seed,
                                                      const std::string& where) {
  config::require_object(config, where);
  config::reject_unknown_keys(config, where, {"type"});  // random search has no options
  return std::make_unique<RandomSearch>(space, seed);
}

space::Architecture RandomSearch::propose() {
  ++proposals_;
  return space_.random(rng_);
}

void RandomSearch::observe(const space::Architecture&, double, bool) { ++observations_; }

nlohmann::json RandomSearch::state() const {
  return {{"type", kType},
          {"version", 1},
          {"rng", rng_.state()},
          {"proposals", proposals_},
          {"observations", observations_}};
}

void RandomSearch::load_state(const nlohmann::json& state) {
  if (state.value("type", "") != kType) {
    throw StoreError("controller state is for '" + state.value("type", "?") + "', not random");
  }
  rng_.load_state(state.at("rng").get<std::string>());
  proposals_ = state.at("proposals").get<long>();
  observations_ = state.at("observations").get<long>();
}

}  // namespace nasforge::controllers
