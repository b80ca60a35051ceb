#pragma once
// A controller proposes architectures and learns from their rewards. It never touches SQLite or
// GPUs: its whole state, RNG included, goes out through state() and comes back through
// load_state(), so that a resumed search proposes exactly what an uninterrupted one would.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "space/search_space.h"

namespace nasforge::controllers {

class Controller {
 public:
  virtual ~Controller() = default;

  virtual std::string type() const = 0;
  virtual space::Architecture propose() = 0;
  // Reward is higher-is-better (validation accuracy in [0, 1], possibly cost-penalised).
  // A failed trial is observed with `failed` set; its reward is meaningless.
  virtual void observe(const space::Architecture& arch, double reward, bool failed) = 0;

  // Everything needed to continue exactly (may hold binary blobs: store it as CBOR).
  virtual nlohmann::json state() const = 0;
  virtual void load_state(const nlohmann::json& state) = 0;
};

// Makes a controller from the experiment's "controller" object; throws ConfigError on an unknown
// type, listing the valid ones. Each controller class provides
//   static std::unique_ptr<Controller> from_config(const nlohmann::json& config,
//       const space::SearchSpace& space, std::uint64_t seed, const std::string& where);
// and one line of the table in factory.cpp names it.
std::unique_ptr<Controller> make_controller(const nlohmann::json& config,
                                            const space::SearchSpace& space, std::uint64_t seed,
                                            const std::string& where = "controller");

// The valid values of "type", in the factory's order.
std::vector<std::string> controller_types();

}  // namespace nasforge::controllers
