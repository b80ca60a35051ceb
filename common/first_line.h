#pragma once
#include <string>

namespace nasforge {

// The first line of a message (LibTorch's and c10d's carry backtraces below it).
inline std::string first_line(const std::string& text) { return text.substr(0, text.find('\n')); }

}  // namespace nasforge
