#include "common/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace nasforge::log {
namespace {
std::atomic<Level> g_level{Level::kInfo};
std::mutex g_mutex;

const char* name_of(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
    case Level::kOff:
      return "off";
  }
  return "?";
}
}  // namespace

void set_level(Level level) { g_level = level; }
Level level() { return g_level; }

void write(Level lvl, std::string_view message) {
  if (lvl < g_level.load()) return;
  const auto now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  localtime_r(&now, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%H:%M:%S", &tm);
  std::lock_guard lock(g_mutex);
  std::fprintf(stderr, "[%s %s] %.*s\n", stamp, name_of(lvl), static_cast<int>(message.size()),
               message.data());
}

}  // namespace nasforge::log
