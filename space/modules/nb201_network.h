#pragma once
// The trainable NAS-Bench-201 network (Dong & Yang, ICLR 2020): a 3x3 stem, three stages of N
// copies of the searched cell with C, 2C and 4C channels separated by stride-2 residual blocks,
// then BN-ReLU, global average pooling and a linear classifier.
#include <memory>

#include "space/modules/network.h"
#include "space/nb201_space.h"

namespace nasforge::space {

// Channels C and cells per stage N come from the space; throws ConfigError if the input's height
// or width is not a multiple of 4 (two stride-2 stages).
std::shared_ptr<Network> build_nb201_network(const Nb201Space& space, const Architecture& arch,
                                             const InputShape& input, int num_classes);

}  // namespace nasforge::space
