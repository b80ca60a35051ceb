#include "report/series.h"

#include <algorithm>
#include <numeric>

namespace nasforge::report {

std::vector<double> running_max(const std::vector<double>& values) {
  std::vector<double> out;
  out.reserve(values.size());
  for (const double v : values) out.push_back(out.empty() ? v : std::max(out.back(), v));
  return out;
}

std::vector<std::size_t> pareto_front(const std::vector<Point>& points) {
  std::vector<std::size_t> order(points.size());
  std::iota(order.begin(), order.end(), 0);
  // Cheapest first, and among equal costs the most accurate first: a point is on the front when
  // it is more accurate than everything cheaper or as cheap before it.
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    if (points[a].x != points[b].x) return points[a].x < points[b].x;
    return points[a].y > points[b].y;
  });
  std::vector<std::size_t> front;
  for (const auto i : order) {
    if (front.empty() || points[i].y > points[front.back()].y) front.push_back(i);
  }
  return front;
}

std::vector<WindowStats> sliding_window(const std::vector<double>& values, std::size_t size) {
  std::vector<WindowStats> out;
  if (size == 0) return out;
  for (std::size_t i = 0; i < values.size(); ++i) {
    std::vector<double> window(
        values.begin() + static_cast<std::ptrdiff_t>(i + 1 - std::min(i + 1, size)),
        values.begin() + static_cast<std::ptrdiff_t>(i + 1));
    std::sort(window.begin(), window.end());
    const std::size_t n = window.size();
    const double median = n % 2 ? window[n / 2] : (window[n / 2 - 1] + window[n / 2]) / 2;
    out.push_back({window.front(), median, window.back()});
  }
  return out;
}

}  // namespace nasforge::report
