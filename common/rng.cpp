#include "common/rng.h"

#include <numeric>
#include <sstream>

#include "common/errors.h"

namespace nasforge {

int Rng::uniform_int(int n) {
  if (n <= 0) throw InternalError("Rng::uniform_int: n must be positive");
  const auto range = static_cast<std::uint64_t>(n);
  const std::uint64_t limit = UINT64_MAX - UINT64_MAX % range;
  std::uint64_t x = engine_();
  while (x >= limit) x = engine_();
  return static_cast<int>(x % range);
}

std::vector<int> Rng::sample_without_replacement(int n, int k) {
  std::vector<int> all(static_cast<size_t>(n));
  std::iota(all.begin(), all.end(), 0);
  for (int i = 0; i < k && i < n; ++i) {
    const int j = i + uniform_int(n - i);
    std::swap(all[static_cast<size_t>(i)], all[static_cast<size_t>(j)]);
  }
  all.resize(static_cast<size_t>(std::min(k, n)));
  return all;
}

std::string Rng::state() const {
  std::ostringstream out;
  out << engine_;
  return out.str();
}

void Rng::load_state(const std::string& text) {
  std::istringstream in(text);
  in >> engine_;
  if (in.fail()) throw StoreError("controller state: malformed random-number-generator state");
}

}  // namespace nasforge
