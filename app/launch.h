#pragma once
// `nasforge launch`: runs `nasforge run` as N local ranks of one data-parallel job.
#include <iosfwd>
#include <string>

namespace nasforge::search {

// Starts `nproc` copies of this executable as `run CONFIG [--db DB]` with the rendezvous
// environment set (ranks > 0 get --quiet: only rank 0 logs), waits for all, and throws Error
// naming the first rank that failed (the others are stopped).
void launch_local_search(int nproc, const std::string& config_path, const std::string& db_path,
                         std::ostream& out);

}  // namespace nasforge::search
