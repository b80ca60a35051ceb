#pragma once
// `nasforge launch`: runs `nasforge run` (or `resume`) as N local ranks of one job: all ranks
// training each trial data-parallel, or groups of them training trials side by side.
#include <iosfwd>
#include <string>

namespace nasforge::search {

struct LaunchOptions {
  int nproc = 2;
  int group_size = 0;           // ranks per trial; 0: all of them
  std::string config_path;      // `run CONFIG`; unused with resume
  std::string db_path;          // empty: run's default
  bool resume = false;          // `resume --db DB`: continue a search that stopped
  int attempts = 0;             // groups a trial may be given to (0: the default, 2)
  int heartbeat_timeout_s = 0;  // a group silent this long is dropped (0: the default, 30 s)
};

// Starts `nproc` copies of this executable with the rendezvous environment set (ranks > 0 get
// --quiet: only rank 0 logs), waits for all, and throws Error naming the first rank that failed.
// With trial groups the job is rank 0's: a rank > 0 that dies costs its group (the others go on,
// the lost ranks are listed) and only rank 0's failure fails the launch.
void launch_local_search(const LaunchOptions& options, std::ostream& out);

}  // namespace nasforge::search
