#pragma once
// model.py: a self-contained PyTorch nn.Module for an architecture (it imports only torch), with
// the input normalisation built in and a load() helper. Its state_dict() names are those of the
// LibTorch network of space/modules, so the model.safetensors written from that network loads
// into it with strict checking.
#include <string>
#include <vector>

#include "space/architecture.h"
#include "space/block_widths.h"
#include "space/modules/network.h"
#include "space/search_space.h"

namespace nasforge::exporter {

// What the network was trained on: model.py's input shape, class count and normalisation.
struct ModelSpec {
  space::InputShape shape;
  int num_classes = 0;
  std::vector<float> mean;  // per channel, in [0, 1] units
  std::vector<float> std;
  std::vector<std::string> class_names;  // index = label; may be empty
};

// The source of model.py for `arch` in `space` (blocks or nb201); throws InternalError for a
// space with no generator. `widths`: a pruned block network's inner widths (null: the
// architecture's; ConfigError for another space).
std::string pytorch_module_source(const space::SearchSpace& space, const space::Architecture& arch,
                                  const ModelSpec& spec,
                                  const space::BlockWidths* widths = nullptr);

}  // namespace nasforge::exporter
