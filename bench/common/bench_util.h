#pragma once
// Summary statistics the benchmarks share, and seeds run side by side (their command line:
// bench/common/bench_cli.h).
#include <algorithm>
#include <cmath>
#include <exception>
#include <thread>
#include <vector>

namespace nasforge::bench {

inline double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0.0 : s / static_cast<double>(v.size());
}

// Sample standard deviation (n - 1); 0 for fewer than two values.
inline double stddev(const std::vector<double>& v) {
  const double m = mean(v);
  double s = 0;
  for (double x : v) s += (x - m) * (x - m);
  return v.size() > 1 ? std::sqrt(s / static_cast<double>(v.size() - 1)) : 0.0;
}

// Calls run(s) for s = 0 .. count - 1 on `jobs` threads (s, s + jobs, ... on each); the first
// error any of them threw is thrown again once all have stopped.
template <typename Run>
void for_each_seed(int count, int jobs, Run run) {
  jobs = std::max(1, jobs);
  std::vector<std::exception_ptr> errors(static_cast<size_t>(jobs));
  std::vector<std::thread> workers;
  for (int j = 0; j < jobs; ++j) {
    workers.emplace_back([&, j] {
      try {
        for (int s = j; s < count; s += jobs) run(s);
      } catch (...) {
        errors[static_cast<size_t>(j)] = std::current_exception();
      }
    });
  }
  for (auto& w : workers) w.join();
  for (const auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
}

}  // namespace nasforge::bench
