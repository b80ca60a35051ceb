#include "tests/nasforge_catch.h"

#include <cmath>
#include <cstdlib>
#include <limits>

#include "common/errors.h"
#include "search/trial_groups.h"

using namespace nasforge;
using namespace nasforge::search;

TEST_CASE("trial groups are consecutive ranks and the size must divide the world", "[search]") {
  const GroupLayout layout(6, 2);
  CHECK(layout.groups() == 3);
  CHECK(layout.group_of(5) == 2);
  CHECK(layout.leader_of(1) == 2);
  CHECK(layout.ranks_of(2) == std::vector<int>{4, 5});
  CHECK_THROWS_AS(GroupLayout(4, 3), ConfigError);
  CHECK_THROWS_AS(GroupLayout(4, 0), ConfigError);
}

TEST_CASE("trial group options come from the environment and reject bad values", "[search]") {
  for (const char* name :
       {"NASFORGE_GROUP_SIZE", "NASFORGE_TRIAL_ATTEMPTS", "NASFORGE_HEARTBEAT_TIMEOUT"}) {
    ::unsetenv(name);
  }
  auto o = TrialGroupOptions::from_environment(4);
  CHECK(o.group_size == 4);
  CHECK(o.attempts == 2);
  CHECK(o.heartbeat_timeout == std::chrono::seconds(30));
  ::setenv("NASFORGE_GROUP_SIZE", "2", 1);
  ::setenv("NASFORGE_TRIAL_ATTEMPTS", "3", 1);
  ::setenv("NASFORGE_HEARTBEAT_TIMEOUT", "7", 1);
  o = TrialGroupOptions::from_environment(4);
  CHECK(o.group_size == 2);
  CHECK(o.attempts == 3);
  CHECK(o.heartbeat_timeout == std::chrono::seconds(7));
  ::setenv("NASFORGE_GROUP_SIZE", "3", 1);
  CHECK_THROWS_WITH(TrialGroupOptions::from_environment(4), Catch::Contains("does not divide"));
  ::setenv("NASFORGE_GROUP_SIZE", "8", 1);
  CHECK_THROWS_WITH(TrialGroupOptions::from_environment(4),
                    Catch::Contains("NASFORGE_GROUP_SIZE='8'"));
  ::setenv("NASFORGE_GROUP_SIZE", "2", 1);
  ::setenv("NASFORGE_TRIAL_ATTEMPTS", "0", 1);
  CHECK_THROWS_AS(TrialGroupOptions::from_environment(4), ConfigError);
  for (const char* name :
       {"NASFORGE_GROUP_SIZE", "NASFORGE_TRIAL_ATTEMPTS", "NASFORGE_HEARTBEAT_TIMEOUT"}) {
    ::unsetenv(name);
  }
}

TEST_CASE("results and epochs cross the store exactly, NaN included", "[search]") {
  TrialResult r;
  r.state = TrialState::kPruned;
  r.val_accuracy = 0.1 + 0.2;  // not a short decimal
  r.val_loss = std::numeric_limits<double>::quiet_NaN();
  r.train_loss = std::numeric_limits<double>::infinity();
  r.params = 1234567890123;
  r.flops = 42;
  r.epochs = 3;
  r.wall_seconds = 1.0 / 3.0;
  r.error = "stopped by the median rule";
  r.weights_path = "/w/t3.pt";
  r.metrics["latency_ms"] = 2.5;
  r.extra = {{"world_size", 2}};
  const auto back = trial_result_from_json(nlohmann::json::parse(to_json(r).dump()));
  CHECK(back.state == r.state);
  CHECK(back.val_accuracy == r.val_accuracy);
  CHECK(std::isnan(back.val_loss));
  CHECK(back.train_loss == r.train_loss);
  CHECK(back.params == r.params);
  CHECK(back.epochs == 3);
  CHECK(back.wall_seconds == r.wall_seconds);
  CHECK(back.error == r.error);
  CHECK(back.weights_path == r.weights_path);
  CHECK(back.metrics == r.metrics);
  CHECK(back.extra == r.extra);

  EpochRecord e;
  e.epoch = 2;
  e.val_accuracy = 0.7;
  e.learning_rate = 1e-3 / 7;
  e.skipped_steps = 5;
  const auto e2 = epoch_record_from_json(nlohmann::json::parse(to_json(e).dump()));
  CHECK(e2.epoch == 2);
  CHECK(e2.val_accuracy == e.val_accuracy);
  CHECK(e2.learning_rate == e.learning_rate);
  CHECK(e2.skipped_steps == 5);
}
