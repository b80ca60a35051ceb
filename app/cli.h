#pragma once
// The command line of `nasforge`: the verbs and their flags (CLI11), and the call of the command
// each one names. Only this part of nasforge parses flags; the commands take arguments.
#include <iosfwd>

namespace nasforge::app {

// Parses argv and runs the command it names, printing to `out` (help included). Returns the exit
// code: 0, or 2 when no command is given (after printing the usage). Bad usage (unknown command
// or option, a missing or malformed value) throws ConfigError with a one-line message that names
// the command; a command's own errors propagate.
int run_command_line(int argc, const char* const* argv, std::ostream& out);

}  // namespace nasforge::app
