#include "space/architecture.h"

#include <cstdio>

namespace nasforge::space {

Architecture::Architecture(std::string space_type, std::vector<int> choices, std::string canonical)
    : space_type_(std::move(space_type)),
      choices_(std::move(choices)),
      canonical_(std::move(canonical)) {}

std::uint64_t fnv1a64(const std::string& text) {
  std::uint64_t h = 14695981039346656037ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

std::string Architecture::hash() const {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(fnv1a64(canonical_)));
  return buf;
}

}  // namespace nasforge::space
