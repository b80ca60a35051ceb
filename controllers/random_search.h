#pragma once
// Random search: every decision uniform and independent. The baseline every NAS paper reports.
#include "common/rng.h"
#include "controllers/controller.h"

namespace nasforge::controllers {

class RandomSearch final : public Controller {
 public:
  static constexpr const char* kType = "random";

  RandomSearch(const space::SearchSpace& space, std::uint64_t seed);
  // Makes one from the experiment's "controller" object (ConfigError on a bad option).
  static std::unique_ptr<Controller> from_config(const nlohmann::json& config,
                                                 const space::SearchSpace& space,
                                                 std::uint64_t seed, const std::string& where);

  std::string type() const override { return kType; }
  space::Architecture propose() override;
  void observe(const space::Architecture& arch, double reward, bool failed) override;
  nlohmann::json state() const override;
  void load_state(const nlohmann::json& state) override;

 private:
  const space::SearchSpace& space_;
  Rng rng_;
  long proposals_ = 0;
  long observations_ = 0;
};

}  // namespace nasforge::controllers
