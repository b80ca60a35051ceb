#pragma once
// A seeded, serialisable random source. Every random choice in nasforge takes one explicitly so
// that a resumed search continues exactly (the state round-trips through a string).
#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace nasforge {

class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0) : engine_(seed) {}

  std::uint64_t next() { return engine_(); }
  // Uniform in [0, n) without modulo bias, identical on every platform.
  int uniform_int(int n);
  // Uniform in [0, 1) with 53 bits.
  double uniform() { return static_cast<double>(engine_() >> 11) * 0x1.0p-53; }
  // Picks k distinct indices from [0, n), in random order.
  std::vector<int> sample_without_replacement(int n, int k);

  std::string state() const;
  void load_state(const std::string& text);

 private:
  std::mt19937_64 engine_;
};

}  // namespace nasforge
