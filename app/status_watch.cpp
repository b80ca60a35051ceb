#include "app/status_watch.h"

#include <chrono>
#include <ctime>
#include <ostream>
#include <sstream>
#include <thread>

#include "app/commands.h"
#include "store/sqlite_store.h"

namespace nasforge::app {

namespace {

std::string clock_time() {
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  localtime_r(&now, &tm);
  char text[16];
  std::strftime(text, sizeof text, "%H:%M:%S", &tm);
  return text;
}

}  // namespace

void watch_status(const std::string& db_path, double interval_seconds, bool terminal,
                  std::ostream& out) {
  for (bool first = true;; first = false) {
    // Read before printing: a search that ends in between is printed once more, as ended.
    const bool running = store::SqliteStore::open(db_path).experiment().status == "running";
    std::ostringstream status;
    search::print_status(db_path, status);
    // "\x1b[H\x1b[2J": cursor home, clear the screen (ANSI), so the status stays in one place.
    if (terminal) {
      out << "\x1b[H\x1b[2J";
    } else if (!first) {
      out << "\n";
    }
    out << status.str();
    if (!running) return;
    out << "(" << clock_time() << ": refreshing every " << interval_seconds
        << " s until the search ends; Ctrl-C stops)\n";
    out.flush();
    std::this_thread::sleep_for(std::chrono::duration<double>(interval_seconds));
  }
}

}  // namespace nasforge::app
