#include "space/modules/network.h"

#include "common/errors.h"
#include "space/block_space.h"
#include "space/modules/block_network.h"
#include "space/modules/nb201_network.h"
#include "space/nb201_space.h"

namespace nasforge::space {

std::int64_t Network::parameter_count() const {
  std::int64_t total = 0;
  for (const auto& p : parameters()) total += p.numel();
  return total;
}

std::shared_ptr<Network> build_network(const SearchSpace& space, const Architecture& arch,
                                       const InputShape& input, int num_classes) {
  if (arch.space_type() != space.type()) {
    throw ConfigError("architecture of space '" + arch.space_type() + "' given to space '" +
                      space.type() + "'");
  }
  if (const auto* blocks = dynamic_cast<const BlockSpace*>(&space)) {
    return build_block_network(*blocks, arch, input, num_classes);
  }
  if (const auto* nb201 = dynamic_cast<const Nb201Space*>(&space)) {
    return build_nb201_network(*nb201, arch, input, num_classes);
  }
  throw InternalError("build_network: no network builder for space '" + space.type() + "'");
}

}  // namespace nasforge::space
