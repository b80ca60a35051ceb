#pragma once
// The numbers the plots draw, computed from plain values: running best, Pareto front, a sliding
// population window. Free of the store, so each is tested on its own.
#include <cstddef>
#include <vector>

#include "report/svg_plot.h"

namespace nasforge::report {

// out[i] = max(values[0..i]).
std::vector<double> running_max(const std::vector<double>& values);

// The points no other point beats: none has a cost (x) at most as high and an accuracy (y) at
// least as high with one of the two strictly better. Indices into `points`, by increasing x.
std::vector<std::size_t> pareto_front(const std::vector<Point>& points);

// For each i, the lowest, median and highest of values[max(0, i + 1 - size) .. i]: the accuracy
// spread of an ageing population that keeps the last `size` members (regularized evolution).
struct WindowStats {
  double min = 0;
  double median = 0;
  double max = 0;
};
std::vector<WindowStats> sliding_window(const std::vector<double>& values, std::size_t size);

}  // namespace nasforge::report
