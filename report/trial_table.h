#pragma once
// Every trial in one table (#trials, <tr class="trial"> per trial), sortable by clicking a
// header: each cell carries its sort key in data-v (numbers as numbers, empty when missing).
#include <string>

#include "report/report_data.h"

namespace nasforge::report {

std::string trial_table_section(const ReportData& data);

// The few lines of JavaScript that sort every table.sortable on a header click (the second click
// on the same header reverses; missing values sort last either way).
const char* sortable_table_script();

}  // namespace nasforge::report
