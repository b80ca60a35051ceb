#pragma once
// Trial parallelism: how many trials run side by side, and on which devices.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nasforge::search {

struct ParallelOptions {
  int workers = 1;                   // trials in flight at once
  std::vector<std::string> devices;  // one per worker slot, round robin; empty: the training device

  // {"workers": N, "devices": ["cuda:0", "cuda:1"] | "all"}; "all": every visible GPU, with
  // one worker each unless "workers" says otherwise.
  static ParallelOptions from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
  // The device of worker slot `slot` ("" when the training config decides).
  std::string device_of(int slot) const;
};

// "cuda:0,cuda:1" -> {"cuda:0", "cuda:1"}; "all" -> every visible GPU (none on a CPU machine).
std::vector<std::string> parse_device_list(const std::string& text, const std::string& where);

}  // namespace nasforge::search
