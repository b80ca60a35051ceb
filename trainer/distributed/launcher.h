#pragma once
// Starts the ranks of a single-machine job as child processes (what torchrun does for one node):
// each gets MASTER_ADDR=127.0.0.1, a free MASTER_PORT, RANK, WORLD_SIZE and LOCAL_RANK.
#include <chrono>
#include <string>
#include <vector>

namespace nasforge::trainer::distributed {

struct LaunchSpec {
  std::string program;  // path of the executable
  // Arguments of each rank (without argv[0]); rank r gets per_rank_args[r] if given, else args.
  std::vector<std::string> args;
  std::vector<std::vector<std::string>> per_rank_args;
  int nproc = 2;
  int port = 0;  // 0: a free port
  // After the first rank fails, how long the others get to fail or finish on their own before
  // they are killed (they usually fail by themselves within the collective timeout).
  std::chrono::milliseconds grace{5'000};
  // Trial groups: a rank > 0 that fails leaves the others running (the master gives its trial to
  // another group); only rank 0's end, failed or not, starts the grace for the others.
  bool survive_rank_failures = false;
  // Further environment of every rank ("NAME=value"), e.g. NASFORGE_GROUP_SIZE.
  std::vector<std::string> env;
};

struct RankExit {
  int rank = 0;
  int pid = 0;
  int exit_code = 0;  // when it exited
  int signal = 0;     // when a signal ended it
  bool killed_by_launcher = false;
  int finish_order = 0;  // 1 for the first rank to end, 2 for the next, ...
  bool ok() const { return exit_code == 0 && signal == 0; }
  std::string describe() const;  // "rank 1 (pid 123) exited with code 2"
};

// Runs the ranks and waits for all of them; never throws for a rank's failure.
std::vector<RankExit> launch_local(const LaunchSpec& spec);
// Throws Error naming the first rank to fail (the cause), then the others that failed.
void check_ranks(const std::vector<RankExit>& exits);
// A TCP port on 127.0.0.1 that nothing listens on right now.
int free_port();

}  // namespace nasforge::trainer::distributed
