#pragma once
// The pieces of model.py: what every exported module shares (the docstring, constants and the
// safetensors loader) and one generator per search space (the network classes).
#include <string>

#include "export/pytorch_module.h"
#include "space/block_space.h"
#include "space/block_widths.h"
#include "space/nb201_space.h"

namespace nasforge::exporter::detail {

// A Python float literal that reads back as the same float32.
std::string py_float(float value);
// A Python string literal.
std::string py_string(const std::string& text);

// The module docstring, imports and constants (ARCHITECTURE, INPUT_SHAPE, NUM_CLASSES, MEAN, STD).
std::string module_preamble(const std::string& space_type, const space::Architecture& arch,
                            const ModelSpec& spec);
// Lines of Network.__init__ that register the normalisation (not in the state_dict), and the
// first line of forward that applies it.
std::string normalisation_init();
std::string normalisation_forward();
// load(), read_weights() and the package-free safetensors reader.
std::string module_loader();

// The classes of a BlockSpace network (space/modules/block_network.cpp) and of a NAS-Bench-201
// network (space/modules/nb201_network.cpp), ending with `class Network`.
// `widths`: the inner widths of a pruned network (null: the architecture's).
std::string block_network_source(const space::BlockSpace& space, const space::Architecture& arch,
                                 const ModelSpec& spec, const space::BlockWidths* widths = nullptr);
std::string nb201_network_source(const space::Nb201Space& space, const space::Architecture& arch,
                                 const ModelSpec& spec);

}  // namespace nasforge::exporter::detail
