#include "app/launch.h"

#include <filesystem>
#include <ostream>

#include "common/errors.h"
#include "trainer/distributed/launcher.h"

namespace nasforge::search {

void launch_local_search(int nproc, const std::string& config_path, const std::string& db_path,
                         std::ostream& out) {
  if (nproc < 1 || nproc > 1024) {
    throw ConfigError("launch: --nproc " + std::to_string(nproc) + ": must be in [1, 1024]");
  }
  namespace dist = trainer::distributed;
  dist::LaunchSpec spec;
  spec.program = std::filesystem::read_symlink("/proc/self/exe").string();
  spec.nproc = nproc;
  for (int r = 0; r < nproc; ++r) {
    std::vector<std::string> args{"run", config_path};
    if (!db_path.empty()) args.insert(args.end(), {"--db", db_path});
    if (r > 0) args.push_back("--quiet");
    spec.per_rank_args.push_back(args);
  }
  const auto exits = dist::launch_local(spec);
  dist::check_ranks(exits);
  out << "launch: " << nproc << " rank(s) finished\n";
}

}  // namespace nasforge::search
