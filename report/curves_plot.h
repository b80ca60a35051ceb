#pragma once
// Learning curves (plot-curves): per-epoch validation accuracy of the top completed trials, the
// pruned trials (faded) and the running ones. Each curve is a <g class="curve ROLE"
// data-trial="ORDINAL"> holding its line and one marker per recorded epoch.
#include <cstddef>
#include <string>

#include "report/report_data.h"

namespace nasforge::report {

inline constexpr std::size_t kTopCurves = 10;

std::string curves_section(const ReportData& data);

}  // namespace nasforge::report
