#pragma once
// An architecture is an immutable sequence of categorical decisions (indices into the choices of
// its search space) together with the canonical string that the space gives it.
#include <cstdint>
#include <string>
#include <vector>

namespace nasforge::space {

class Architecture {
 public:
  Architecture(std::string space_type, std::vector<int> choices, std::string canonical);

  const std::string& space_type() const { return space_type_; }
  const std::vector<int>& choices() const { return choices_; }
  // The same network always has the same canonical string, whatever unused decisions hold.
  const std::string& canonical() const { return canonical_; }
  // Stable across runs and platforms: FNV-1a 64 of the canonical string, 16 hex digits.
  std::string hash() const;

  bool operator==(const Architecture& other) const { return canonical_ == other.canonical_; }

 private:
  std::string space_type_;
  std::vector<int> choices_;
  std::string canonical_;
};

std::uint64_t fnv1a64(const std::string& text);

}  // namespace nasforge::space
