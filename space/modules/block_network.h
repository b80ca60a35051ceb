#pragma once
// The network of a BlockSpace architecture: stem, stages of ResNet basic/bottleneck blocks
// (He et al. 2016) or DenseNet blocks (Huang et al. 2017), global pooling and a linear head.
#include <memory>

#include "space/block_space.h"
#include "space/block_widths.h"
#include "space/modules/network.h"

namespace nasforge::space {

std::shared_ptr<Network> build_block_network(const BlockSpace& space, const Architecture& arch,
                                             const InputShape& input, int num_classes);
// The same network with the inner widths of `widths` (a pruned network); throws ConfigError when
// they do not fit the architecture.
std::shared_ptr<Network> build_block_network(const BlockSpace& space, const Architecture& arch,
                                             const BlockWidths& widths, const InputShape& input,
                                             int num_classes);

}  // namespace nasforge::space
