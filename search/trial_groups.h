#pragma once
// Trial groups (hybrid parallelism): WORLD_SIZE ranks as groups of G consecutive ranks, each group
// training one trial data-parallel on a subgroup of its own; rank 0, the master, hands trials to
// whichever group is free. What the master and the groups' leaders say to each other goes through
// the job's store (c10d TCPStore) under kTrialKeys, as JSON: the layout, the options and the
// messages are here; the master's side is group_dispatcher.h, a group's side group_server.h.
#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/trial_record.h"

namespace nasforge::search {

struct TrialGroupOptions {
  int group_size = 0;  // ranks per trial; 0: all of them (one trial at a time)
  // Groups a trial is given to before it is recorded failed, when its groups break under it.
  int attempts = 2;
  // A group whose rank has not beaten for this long is taken for dead (a killed rank is usually
  // noticed at once, by its group's collectives failing).
  std::chrono::milliseconds heartbeat_timeout{30'000};

  // NASFORGE_GROUP_SIZE (default: the world), NASFORGE_TRIAL_ATTEMPTS (default 2) and
  // NASFORGE_HEARTBEAT_TIMEOUT (seconds, default 30); ConfigError naming a malformed one, or a
  // group size that does not divide the world.
  static TrialGroupOptions from_environment(int world_size);
};

class GroupLayout {
 public:
  // ConfigError unless group_size divides world_size.
  GroupLayout(int world_size, int group_size);
  int groups() const { return world_size_ / group_size_; }
  int group_size() const { return group_size_; }
  int group_of(int rank) const { return rank / group_size_; }
  int leader_of(int group) const { return group * group_size_; }
  std::vector<int> ranks_of(int group) const;

 private:
  int world_size_;
  int group_size_;
};

// The store's keys of the trial protocol. Group g's n-th assignment is assignment(g, n); the
// leader answers with epoch(g, n, e) after each epoch (the master answers go_on(g, n, e): "1" or
// "0") and result(g, n) at the end. A rank whose group broke sets broken(g) to why.
namespace trial_keys {
std::string assignment(int group, int n);
std::string epoch(int group, int n, int epoch);
std::string go_on(int group, int n, int epoch);
std::string result(int group, int n);
std::string broken(int group);
std::string stopped(int group);
}  // namespace trial_keys

nlohmann::json to_json(const EpochRecord& record);
EpochRecord epoch_record_from_json(const nlohmann::json& j);
// Exact for every field (doubles round-trip; NaN and infinities kept).
nlohmann::json to_json(const TrialResult& result);
TrialResult trial_result_from_json(const nlohmann::json& j);

}  // namespace nasforge::search
