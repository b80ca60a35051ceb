#pragma once
// The neighbourhood of an architecture: every distinct network one decision away from it.
#include <vector>

#include "space/search_space.h"

namespace nasforge::controllers {

// In decision order, then choice order; without repeats and without `arch` itself (a change to a
// decision the network ignores gives the same network, which is left out).
std::vector<space::Architecture> neighbours(const space::SearchSpace& space,
                                            const space::Architecture& arch);

}  // namespace nasforge::controllers
