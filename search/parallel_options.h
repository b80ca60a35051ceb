#pragma once
// Trial parallelism: how many trials run side by side, and on which devices.
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nasforge::search {

// Model parallelism: on several ranks, each trial's network cut into consecutive stages, one per
// rank of the ranks that train it (trainer/distributed/pipeline_training.h).
struct PipelineParallel {
  // Stages per pipeline; 0: every rank of a trial. Fewer (dividing them): that many replicas of
  // the pipeline, data-parallel (e.g. 4 ranks as 2 stages x 2 replicas).
  int stages = 0;
  int micro_batches = 4;          // per batch (per replica's share of it, with replicas)
  std::string balance = "flops";  // stages of equal "flops" or "parameters"
};

struct ParallelOptions {
  int workers = 1;                   // trials in flight at once
  std::vector<std::string> devices;  // one per worker slot, round robin; empty: the training device
  // "pipeline": {"stages": S, "micro_batches": M, "balance": "flops" | "parameters"}; unset:
  // data parallelism.
  std::optional<PipelineParallel> pipeline;

  // {"workers": N, "devices": ["cuda:0", "cuda:1"] | "all", "pipeline": {...}}; "all": every
  // visible GPU, with one worker each unless "workers" says otherwise.
  static ParallelOptions from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
  // Whether to_json says more than the defaults (one worker, the training device, no pipeline).
  bool is_default() const;
  // The device of worker slot `slot` ("" when the training config decides).
  std::string device_of(int slot) const;
};

// "cuda:0,cuda:1" -> {"cuda:0", "cuda:1"}; "all" -> every visible GPU (none on a CPU machine).
std::vector<std::string> parse_device_list(const std::string& text, const std::string& where);

}  // namespace nasforge::search
