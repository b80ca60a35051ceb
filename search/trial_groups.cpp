#include "search/trial_groups.h"

#include <cmath>
#include <cstdlib>
#include <limits>

#include "common/environment.h"
#include "common/errors.h"

namespace nasforge::search {

namespace {

// JSON has no NaN or infinity: they travel as strings.
nlohmann::json number(double x) {
  if (std::isfinite(x)) return x;
  return std::isnan(x) ? "nan" : (x > 0 ? "inf" : "-inf");
}

double number(const nlohmann::json& j) {
  if (j.is_number()) return j.get<double>();
  const auto text = j.get<std::string>();
  if (text == "nan") return std::numeric_limits<double>::quiet_NaN();
  return text == "inf" ? std::numeric_limits<double>::infinity()
                       : -std::numeric_limits<double>::infinity();
}

const std::string kPrefix = "nasforge/trials/";

}  // namespace

TrialGroupOptions TrialGroupOptions::from_environment(int world_size) {
  TrialGroupOptions o;
  o.group_size = env_int("NASFORGE_GROUP_SIZE", world_size, 1, world_size);
  o.attempts = env_int("NASFORGE_TRIAL_ATTEMPTS", 2, 1, 1000);
  o.heartbeat_timeout = std::chrono::seconds(env_int("NASFORGE_HEARTBEAT_TIMEOUT", 30, 1, 86'400));
  GroupLayout(world_size, o.group_size);  // checks that it divides the world
  return o;
}

GroupLayout::GroupLayout(int world_size, int group_size)
    : world_size_(world_size), group_size_(group_size) {
  if (group_size < 1 || world_size < 1 || world_size % group_size != 0) {
    throw ConfigError("group size " + std::to_string(group_size) + " does not divide the " +
                      std::to_string(world_size) + " ranks; choose a divisor of WORLD_SIZE");
  }
}

std::vector<int> GroupLayout::ranks_of(int group) const {
  std::vector<int> ranks;
  for (int r = leader_of(group); r < leader_of(group) + group_size_; ++r) ranks.push_back(r);
  return ranks;
}

namespace trial_keys {
std::string assignment(int group, int n) {
  return kPrefix + "assign/" + std::to_string(group) + "/" + std::to_string(n);
}
std::string epoch(int group, int n, int epoch) {
  return kPrefix + "epoch/" + std::to_string(group) + "/" + std::to_string(n) + "/" +
         std::to_string(epoch);
}
std::string go_on(int group, int n, int epoch) {
  return kPrefix + "go/" + std::to_string(group) + "/" + std::to_string(n) + "/" +
         std::to_string(epoch);
}
std::string result(int group, int n) {
  return kPrefix + "result/" + std::to_string(group) + "/" + std::to_string(n);
}
std::string broken(int group) { return kPrefix + "broken/" + std::to_string(group); }
std::string stopped(int group) { return kPrefix + "stopped/" + std::to_string(group); }
}  // namespace trial_keys

nlohmann::json to_json(const EpochRecord& r) {
  return {{"epoch", r.epoch},
          {"train_loss", number(r.train_loss)},
          {"train_accuracy", number(r.train_accuracy)},
          {"val_loss", number(r.val_loss)},
          {"val_accuracy", number(r.val_accuracy)},
          {"learning_rate", number(r.learning_rate)},
          {"seconds", number(r.seconds)},
          {"loss_scale", number(r.loss_scale)},
          {"skipped_steps", r.skipped_steps}};
}

EpochRecord epoch_record_from_json(const nlohmann::json& j) {
  EpochRecord r;
  r.epoch = j.at("epoch").get<int>();
  r.train_loss = number(j.at("train_loss"));
  r.train_accuracy = number(j.at("train_accuracy"));
  r.val_loss = number(j.at("val_loss"));
  r.val_accuracy = number(j.at("val_accuracy"));
  r.learning_rate = number(j.at("learning_rate"));
  r.seconds = number(j.at("seconds"));
  r.loss_scale = number(j.at("loss_scale"));
  r.skipped_steps = j.at("skipped_steps").get<std::int64_t>();
  return r;
}

nlohmann::json to_json(const TrialResult& r) {
  nlohmann::json metrics = nlohmann::json::object();
  for (const auto& [name, value] : r.metrics) metrics[name] = number(value);
  return {{"state", to_string(r.state)},
          {"val_accuracy", number(r.val_accuracy)},
          {"val_loss", number(r.val_loss)},
          {"train_loss", number(r.train_loss)},
          {"params", r.params},
          {"flops", r.flops},
          {"epochs", r.epochs},
          {"wall_seconds", number(r.wall_seconds)},
          {"error", r.error},
          {"weights_path", r.weights_path},
          {"metrics", metrics},
          {"extra", r.extra}};
}

TrialResult trial_result_from_json(const nlohmann::json& j) {
  TrialResult r;
  r.state = parse_trial_state(j.at("state").get<std::string>());
  r.val_accuracy = number(j.at("val_accuracy"));
  r.val_loss = number(j.at("val_loss"));
  r.train_loss = number(j.at("train_loss"));
  r.params = j.at("params").get<std::int64_t>();
  r.flops = j.at("flops").get<std::int64_t>();
  r.epochs = j.at("epochs").get<int>();
  r.wall_seconds = number(j.at("wall_seconds"));
  r.error = j.at("error").get<std::string>();
  r.weights_path = j.at("weights_path").get<std::string>();
  for (const auto& [name, value] : j.at("metrics").items()) r.metrics[name] = number(value);
  r.extra = j.at("extra");
  return r;
}

}  // namespace nasforge::search
