#pragma once
// A small logger: one line per event on stderr, with a level filter. Only rank 0 logs.
// On a terminal a status line (the search's progress) may stay below the log: each log line
// clears it, prints, and draws it again, so the two never mix.
#include <string_view>

namespace nasforge::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kOff = 4 };

void set_level(Level level);
Level level();
void write(Level level, std::string_view message);

inline void debug(std::string_view m) { write(Level::kDebug, m); }
inline void info(std::string_view m) { write(Level::kInfo, m); }
inline void warn(std::string_view m) { write(Level::kWarn, m); }
inline void error(std::string_view m) { write(Level::kError, m); }

// Whether stderr is a terminal that can redraw a line in place (not TERM=dumb).
bool stderr_is_terminal();
// Draws `line` in place of the status line, cut to the terminal's width; empty removes it. Only
// for a terminal stderr (see stderr_is_terminal).
void set_status_line(std::string_view line);

}  // namespace nasforge::log
