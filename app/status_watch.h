#pragma once
// `nasforge status --watch`: the status again every few seconds until the search ends.
#include <iosfwd>
#include <string>

namespace nasforge::app {

// Prints the status of the database every `interval_seconds` until its experiment is no longer
// running (completed, or failed), then returns; a search that has ended is printed once. On a
// terminal the screen is cleared before each print; otherwise the prints follow one another.
// A search whose process died stays "running" in the store: Ctrl-C stops the watch.
void watch_status(const std::string& db_path, double interval_seconds, bool terminal,
                  std::ostream& out);

}  // namespace nasforge::app
