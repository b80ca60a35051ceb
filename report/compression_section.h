#pragma once
// The compression runs of the search's trials (`nasforge compress`): one row per run with its
// method, what it kept of its parent trial (parameters, FLOPs, size) and what it cost in accuracy
// and gained in CPU latency. Absent when nothing was compressed.
#include <string>

#include "report/report_data.h"

namespace nasforge::report {

std::string compression_section(const ReportData& data);

}  // namespace nasforge::report
