#include <fstream>

#include "tests/nasforge_catch.h"

#include "common/errors.h"
#include "controllers/controller.h"
#include "space/nb201_space.h"

namespace nasforge::controllers {

TEST_CASE("make_controller rejects an unknown type and names the valid ones", "[controllers]") {
  const space::Nb201Space space;
  try {
    make_controller({{"type", "bayesian"}}, space, 1);
    FAIL("expected ConfigError");
  } catch (const ConfigError& e) {
    const std::string message = e.what();
    REQUIRE_THAT(message, Catch::Contains("controller.type"));
    REQUIRE_THAT(message, Catch::Contains("bayesian"));
    REQUIRE_THAT(message, Catch::Contains("random"));
    REQUIRE_THAT(message, Catch::Contains("evolution"));
    REQUIRE_THAT(message, Catch::Contains("reinforce"));
  }
}

TEST_CASE("every type the factory lists builds from its defaults and reports that type",
          "[controllers]") {
  const space::Nb201Space space;
  const auto types = controller_types();
  REQUIRE(types == std::vector<std::string>{"random", "evolution", "reinforce", "local_search",
                                            "predictor"});
  for (const auto& type : types) {
    INFO(type);
    REQUIRE(make_controller({{"type", type}}, space, 1)->type() == type);
  }
  // The error's list is the table's.
  REQUIRE_THROWS_WITH(
      make_controller({{"type", "bayesian"}}, space, 1),
      Catch::Contains("expected random, evolution, reinforce, local_search or predictor"));
}

TEST_CASE("make_controller accepts each type's settings and rejects bad ones", "[controllers]") {
  const space::Nb201Space space;
  REQUIRE(make_controller({{"type", "evolution"},
                           {"population", 10},
                           {"sample", 5},
                           {"crossover", 0.2},
                           {"unique", false}},
                          space, 1)
              ->type() == "evolution");
  REQUIRE(make_controller({{"type", "reinforce"},
                           {"hidden_size", 32},
                           {"temperature", 5.0},
                           {"tanh_constant", 2.5},
                           {"learning_rate", 0.01},
                           {"baseline_decay", 0.95},
                           {"entropy_weight", 0.0},
                           {"batch_size", 4},
                           {"failed_reward", 0.0},
                           {"unique", true}},
                          space, 1)
              ->type() == "reinforce");
  REQUIRE(make_controller(
              {{"type", "local_search"}, {"init", 2}, {"move", "best"}, {"unique", true}}, space, 1)
              ->type() == "local_search");
  REQUIRE_THROWS_AS(make_controller({{"type", "local_search"}, {"move", "steepest"}}, space, 1),
                    ConfigError);
  REQUIRE(make_controller({{"type", "predictor"},
                           {"warmup", 10},
                           {"retrain_every", 5},
                           {"ensemble", 5},
                           {"hidden_size", 32},
                           {"layers", 2},
                           {"steps", 200},
                           {"learning_rate", 0.01},
                           {"parents", 10},
                           {"mutations", 50},
                           {"random_candidates", 10},
                           {"floor_quantile", 0.1},
                           {"parent_distance", 2},
                           {"patience", 20},
                           {"acquisition", "its"}},
                          space, 1)
              ->type() == "predictor");
  REQUIRE_THROWS_AS(make_controller({{"type", "predictor"}, {"acquisition", "ucb"}}, space, 1),
                    ConfigError);
  REQUIRE_THROWS_AS(make_controller({{"type", "evolution"}, {"populaton", 10}}, space, 1),
                    ConfigError);
  REQUIRE_THROWS_AS(
      make_controller({{"type", "evolution"}, {"population", 4}, {"sample", 5}}, space, 1),
      ConfigError);
  REQUIRE_THROWS_AS(make_controller({{"type", "evolution"}, {"crossover", 1.5}}, space, 1),
                    ConfigError);
  REQUIRE_THROWS_AS(make_controller({{"type", "reinforce"}, {"batch_size", 0}}, space, 1),
                    ConfigError);
  REQUIRE_THROWS_AS(make_controller({{"type", "reinforce"}, {"hidden_size", "64"}}, space, 1),
                    ConfigError);
  REQUIRE_THROWS_AS(make_controller({{"type", "random"}, {"sample", 3}}, space, 1), ConfigError);
}

TEST_CASE("the nb201 experiment files name valid controllers", "[controllers]") {
  const space::Nb201Space space;
  for (const char* name : {"nb201_random", "nb201_evolution", "nb201_rl"}) {
    std::ifstream in(std::string(NASFORGE_SOURCE_DIR) + "/experiments/" + name + ".json");
    REQUIRE(in);
    const auto experiment = nlohmann::json::parse(in);
    REQUIRE(make_controller(experiment.at("controller"), space, 1) != nullptr);
    REQUIRE(experiment.at("space").at("type") == "nb201");
  }
}

}  // namespace nasforge::controllers
