#pragma once
// An architecture as a vector of numbers for a predictor: the one-hot code of each decision's
// choice, decisions in order (for NAS-Bench-201, the operation on each of the 6 edges: 30 values).
// Free of LibTorch.
#include <vector>

#include "space/search_space.h"

namespace nasforge::controllers {

// The length of the encoding: the number of choices summed over the decisions.
int one_hot_size(const space::SearchSpace& space);
// Appends the encoding of `arch` (one_hot_size values, each 0 or 1) to `out`.
void append_one_hot(const space::SearchSpace& space, const space::Architecture& arch,
                    std::vector<float>& out);

}  // namespace nasforge::controllers
