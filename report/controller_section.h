#pragma once
// What the controller's saved state tells about the search. Regularized evolution: its
// population's accuracy over the search (plot-population: min/median/max of the last
// `population` completed trials, and the current members from the state as markers).
// REINFORCE: its state holds the current reward baseline and counters, not their history nor the
// policy's entropy, so those values are shown as a table and the report says so.
#include <string>

#include "report/report_data.h"

namespace nasforge::report {

std::string controller_section(const ReportData& data);

}  // namespace nasforge::report
