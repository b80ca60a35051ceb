#pragma once
// Accuracy against cost: parameters (plot-params) and FLOPs (plot-flops) of the completed
// trials, with the Pareto front marked (points of class "pareto" and a staircase line).
#include <string>

#include "report/report_data.h"

namespace nasforge::report {

std::string cost_section(const ReportData& data);

}  // namespace nasforge::report
