#pragma once
// The search's progress: best-so-far validation accuracy against trials and against wall-clock
// time (plots plot-best-trials and plot-best-time).
#include <string>

#include "report/report_data.h"

namespace nasforge::report {

std::string progress_section(const ReportData& data);

}  // namespace nasforge::report
