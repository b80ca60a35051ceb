#pragma once
// A fast 64-bit hash of a byte range, for finding exact duplicate images (candidates are then
// compared byte for byte) and for the dataset cache's checksum. Not cryptographic: each 8-byte
// word is folded in by an xor and a multiplication by an odd constant (a bijection), so a change
// in any one word always changes the result.
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace nasforge::trainer::detail {

inline std::uint64_t hash_bytes(const void* data, std::size_t size,
                                std::uint64_t seed = 0x9E3779B97F4A7C15ULL) {
  constexpr std::uint64_t kMul = 0xFF51AFD7ED558CCDULL;
  const auto* p = static_cast<const unsigned char*>(data);
  std::uint64_t h = seed ^ (size * kMul);
  std::size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    std::uint64_t word;
    std::memcpy(&word, p + i, 8);
    h = (h ^ word) * kMul;
    h ^= h >> 29;
  }
  std::uint64_t tail = 0;
  std::memcpy(&tail, p + i, size - i);
  h = (h ^ tail) * kMul;
  h ^= h >> 32;
  h *= 0xC4CEB9FE1A85EC53ULL;
  return h ^ (h >> 29);
}

}  // namespace nasforge::trainer::detail
