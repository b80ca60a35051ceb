#pragma once
// The ranks of a multi-process test: copies of a test worker executable started as one job.
#include <filesystem>
#include <string>
#include <vector>

#include "trainer/distributed/launcher.h"

namespace nasforge::testing {

// Starts `nproc` copies of `program` as the ranks of one local job and waits for them; rank r gets
// `extra` followed by `--out DIR/rankR`. Returns how each rank exited.
inline std::vector<trainer::distributed::RankExit> launch_rank_workers(
    const std::string& program, int nproc, const std::filesystem::path& dir,
    const std::vector<std::string>& extra) {
  trainer::distributed::LaunchSpec spec;
  spec.program = program;
  spec.nproc = nproc;
  for (int r = 0; r < nproc; ++r) {
    auto args = extra;
    args.insert(args.end(), {"--out", (dir / ("rank" + std::to_string(r))).string()});
    spec.per_rank_args.push_back(args);
  }
  spec.grace = std::chrono::seconds(60);
  return trainer::distributed::launch_local(spec);
}

}  // namespace nasforge::testing
