#include "common/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <string>

#include <sys/ioctl.h>
#include <unistd.h>

namespace nasforge::log {
namespace {
std::atomic<Level> g_level{Level::kInfo};
std::mutex g_mutex;
std::string g_status;  // the status line on the terminal; guarded by g_mutex

// "\r" back to the line's start, "\x1b[K" erases to its end (ANSI, as VT100 terminals have).
constexpr std::string_view kClearLine = "\r\x1b[K";

void put(std::string_view text) { std::fwrite(text.data(), 1, text.size(), stderr); }

size_t terminal_columns() {
  winsize size{};
  if (ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 80;
}

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
  std::string text = std::string("[") + stamp + " " + name_of(lvl) + "] " + std::string(message);
  std::lock_guard lock(g_mutex);
  // In one write: the status line cleared, the log line, the status line drawn again.
  put((g_status.empty() ? "" : std::string(kClearLine)) + text + "\n" + g_status);
}

bool stderr_is_terminal() {
  const char* term = std::getenv("TERM");
  return isatty(STDERR_FILENO) == 1 && !(term && std::string_view(term) == "dumb");
}

void set_status_line(std::string_view line) {
  // One column short of the width: a line that fills it wraps on some terminals, and "\r" then
  // returns to the wrapped part only.
  const auto fitted = std::string(line.substr(0, terminal_columns() - 1));
  std::lock_guard lock(g_mutex);
  if (fitted == g_status) return;
  g_status = fitted;
  put(std::string("\r") + fitted + "\x1b[K");
}

}  // namespace nasforge::log
