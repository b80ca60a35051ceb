#pragma once
// Headless Chromium for the [browser] tests: where it is, and one run of it with its output.
// scripts/setup.sh installs Debian's chromium; in CI (CI=true) a missing browser fails the test,
// elsewhere the test is skipped with a warning, as the export tests do without Python.
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "tests/report/html_probe.h"
#include "tests/search/cli_helpers.h"

namespace nasforge::testing {

// NASFORGE_CHROMIUM if set, else chromium or chromium-browser on the PATH; "" if none.
inline std::string find_chromium() {
  if (const char* path = std::getenv("NASFORGE_CHROMIUM"); path && *path) return path;
  for (const char* name : {"chromium", "chromium-browser"}) {
    FILE* pipe = popen((std::string("command -v ") + name + " 2>/dev/null").c_str(), "r");
    if (!pipe) continue;
    char line[4096] = {};
    const bool found = std::fgets(line, sizeof line, pipe) != nullptr;
    pclose(pipe);
    std::string path = found ? line : "";
    path = path.substr(0, path.find('\n'));
    if (!path.empty()) return path;
  }
  return "";
}

#define NASFORGE_REQUIRE_CHROMIUM(path)                                                     \
  do {                                                                                      \
    if ((path).empty()) {                                                                   \
      const char* ci = std::getenv("CI");                                                   \
      if (ci && std::string(ci) == "true")                                                  \
        FAIL("chromium is not installed; scripts/setup.sh installs it (Debian: chromium)"); \
      WARN(                                                                                 \
          "skipped: no chromium on the PATH (apt-get install chromium, or set "             \
          "NASFORGE_CHROMIUM)");                                                            \
      return;                                                                               \
    }                                                                                       \
  } while (false)

struct BrowserRun {
  int exit_code = -1;
  std::string out;  // stdout (the DOM for --dump-dom)
  std::string err;  // stderr (the log, console messages included)
};

// Runs headless Chromium on `page` (a file) with `flags`, at 1200 px wide and `height` high, in
// a profile of its own under `dir`.
inline BrowserRun run_chromium(const std::string& chromium, const TempDir& dir,
                               const std::string& page, const std::string& flags, int height) {
  const auto out = dir.file("chromium.out"), err = dir.file("chromium.err");
  const std::string command =
      "timeout 180 " + chromium +
      " --headless --disable-gpu --no-sandbox --disable-dev-shm-usage --no-first-run"
      " --hide-scrollbars --force-device-scale-factor=1 --user-data-dir=" +
      dir.file("profile") + " --enable-logging=stderr --v=0 --window-size=1200," +
      std::to_string(height) + " " + flags + " file://" + page + " >" + out + " 2>" + err;
  const int status = std::system(command.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_text(out), read_text(err)};
}

// The lines of a Chromium log that report a page's script error or console error.
inline std::vector<std::string> console_errors(const std::string& log) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start < log.size()) {
    auto end = log.find('\n', start);
    if (end == std::string::npos) end = log.size();
    const auto line = log.substr(start, end - start);
    if (line.find("CONSOLE") != std::string::npos &&
        (line.find("Uncaught") != std::string::npos || line.find("Error") != std::string::npos ||
         line.find("ERROR") != std::string::npos)) {
      out.push_back(line);
    }
    start = end + 1;
  }
  return out;
}

}  // namespace nasforge::testing
