#include "common/environment.h"

#include <cerrno>
#include <cstdlib>
#include <string>

#include "common/errors.h"

namespace nasforge {

int env_int(const char* name, int fallback, int low, int high) {
  const char* raw = std::getenv(name);
  if (raw == nullptr || *raw == '\0') return fallback;
  char* end = nullptr;
  errno = 0;
  const long value = std::strtol(raw, &end, 10);
  if (errno != 0 || *end != '\0' || value < low || value > high) {
    throw ConfigError(std::string("environment variable ") + name + "='" + raw +
                      "': expected an integer in [" + std::to_string(low) + ", " +
                      std::to_string(high) + "]");
  }
  return static_cast<int>(value);
}

}  // namespace nasforge
