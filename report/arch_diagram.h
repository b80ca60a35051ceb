#pragma once
// The best architecture drawn as SVG (#arch-diagram). Blocks space: input, stem, one box per
// stage (<g class="stage" data-block data-depth data-width data-growth data-kernel>, with one
// <rect class="unit"> per block of its depth), then the classifier head. NB201: the cell's DAG,
// 4 nodes (<circle class="node">) and 6 edges (<path class="edge" data-from data-to data-op>)
// labelled with their operations.
#include <string>

#include "report/report_data.h"
#include "space/block_space.h"

namespace nasforge::report {

std::string architecture_section(const ReportData& data);

std::string block_diagram(const space::BlockSpace& space, const space::Architecture& arch);
// `ops[e]` is the operation on edge e, in Nb201Space's canonical edge order.
std::string nb201_diagram(const std::vector<std::string>& ops);

}  // namespace nasforge::report
