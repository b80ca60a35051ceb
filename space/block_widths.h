#pragma once
// The inner channel counts of a block network, layer by layer: what structured pruning changes
// (compress/pruning.h). A unit is a residual block or a dense layer; its inner widths are the
// channels that no addition joins to a skip path, so they can shrink alone:
//   basic block       {conv1's outputs}                      default {width}
//   bottleneck block  {conv1's outputs, conv2's outputs}     default {max(width/4, 4) twice}
//   dense layer       {its conv's outputs (its growth)}      default {growth_rate}
// The stage outputs (added to shortcuts, or a dense stage's transition) keep the architecture's
// widths. Free of LibTorch, like the rest of the encoding.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "space/block_space.h"

namespace nasforge::space {

struct BlockWidths {
  // stages[s][u]: the inner widths of unit u of stage s (blocks in a residual stage, layers in a
  // dense one).
  std::vector<std::vector<std::vector<int>>> stages;

  // The widths the architecture alone gives (an unpruned network).
  static BlockWidths defaults(const BlockSpace& space, const Architecture& arch);
  // [[[12], [12]], [[4, 4]], [[8, 8, 8]]]; from_json throws ConfigError naming `where`.
  nlohmann::json to_json() const;
  static BlockWidths from_json(const nlohmann::json& j, const std::string& where);
  // Throws ConfigError naming `where` unless the shape fits the architecture (units per stage,
  // widths per unit) and every width is at least 1.
  void check(const BlockSpace& space, const Architecture& arch, const std::string& where) const;

  bool operator==(const BlockWidths& other) const = default;
};

// Inner widths of a bottleneck block of `width` output channels (both convs), as built.
int bottleneck_inner_width(int width);

}  // namespace nasforge::space
