#include "search/trial_rng.h"

namespace nasforge::search {

Rng trial_rng(std::uint64_t seed, std::int64_t ordinal, TrialStream stream) {
  // splitmix64 finaliser over (seed, ordinal, stream).
  std::uint64_t z = seed * 0x9E3779B97F4A7C15ULL +
                    static_cast<std::uint64_t>(ordinal) * 0xBF58476D1CE4E5B9ULL +
                    static_cast<std::uint64_t>(stream) * 0x94D049BB133111EBULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return Rng(z ^ (z >> 31));
}

}  // namespace nasforge::search
