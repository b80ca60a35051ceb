#include "app/launch.h"

#include <cstdlib>
#include <filesystem>
#include <ostream>

#include "common/errors.h"
#include "trainer/distributed/launcher.h"

namespace nasforge::search {

namespace {

// How long the ranks' collectives wait for a peer (NASFORGE_DIST_TIMEOUT, default 60 s).
std::chrono::seconds collective_timeout() {
  const char* raw = std::getenv("NASFORGE_DIST_TIMEOUT");
  if (raw == nullptr || *raw == '\0') return std::chrono::seconds(60);
  const long value = std::strtol(raw, nullptr, 10);
  return std::chrono::seconds(value > 0 ? value : 60);
}

}  // namespace

void launch_local_search(const LaunchOptions& options, std::ostream& out) {
  const int nproc = options.nproc;
  if (nproc < 1 || nproc > 1024) {
    throw ConfigError("launch: --nproc " + std::to_string(nproc) + ": must be in [1, 1024]");
  }
  const int group_size = options.group_size > 0 ? options.group_size : nproc;
  if (group_size > nproc || nproc % group_size != 0) {
    throw ConfigError("launch: --group-size " + std::to_string(group_size) +
                      " does not divide --nproc " + std::to_string(nproc) +
                      "; choose a divisor (e.g. --nproc 4 --group-size 2: 2 trials at once)");
  }
  if (options.resume && options.db_path.empty()) {
    throw ConfigError("launch: --resume needs --db, the database of the search to continue");
  }
  if (!options.resume && options.config_path.empty()) {
    throw ConfigError("launch: give the experiment file (CONFIG), or --resume --db DB");
  }
  namespace dist = trainer::distributed;
  dist::LaunchSpec spec;
  spec.program = std::filesystem::read_symlink("/proc/self/exe").string();
  spec.nproc = nproc;
  // Each rank stops on its own, naming the peer that died, within the collective timeout.
  spec.grace = collective_timeout() + std::chrono::seconds(10);
  const bool groups = group_size < nproc;
  spec.survive_rank_failures = groups;
  spec.env.push_back("NASFORGE_GROUP_SIZE=" + std::to_string(group_size));
  if (options.attempts > 0) {
    spec.env.push_back("NASFORGE_TRIAL_ATTEMPTS=" + std::to_string(options.attempts));
  }
  if (options.heartbeat_timeout_s > 0) {
    spec.env.push_back("NASFORGE_HEARTBEAT_TIMEOUT=" + std::to_string(options.heartbeat_timeout_s));
  }
  for (int r = 0; r < nproc; ++r) {
    std::vector<std::string> args;
    if (options.resume) {
      args = {"resume", "--db", options.db_path};
    } else {
      args = {"run", options.config_path};
      if (!options.db_path.empty()) args.insert(args.end(), {"--db", options.db_path});
    }
    if (r > 0) args.push_back("--quiet");
    spec.per_rank_args.push_back(args);
  }
  const auto exits = dist::launch_local(spec);
  if (!groups || !exits.front().ok()) dist::check_ranks(exits);
  int lost = 0;
  for (const auto& e : exits) {
    if (e.ok()) continue;
    ++lost;
    out << "launch: " << e.describe() << "; its trial group was dropped\n";
  }
  out << "launch: " << nproc - lost << " of " << nproc << " rank(s) finished";
  if (groups) out << " (" << nproc / group_size << " trial groups of " << group_size << ")";
  out << "\n";
}

}  // namespace nasforge::search
