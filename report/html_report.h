#pragma once
// `nasforge report`: one self-contained HTML file about a search (inline SVG plots written here,
// inline CSS and a few lines of inline JavaScript to sort the trial table; nothing is fetched
// when it is viewed). Works while the search runs and on table-lookup (NB201) searches.
#include <string>

#include "report/report_data.h"

namespace nasforge::report {

// The whole page.
std::string render_report(const ReportData& data);

// Reads the database at `db_path` and writes the page to `out_path` (through a temporary file
// beside it, so a reader never sees half a report); returns what it drew. Throws StoreError for
// a database that cannot be read, DataError when the file cannot be written.
ReportData write_report(const std::string& db_path, const std::string& out_path);

}  // namespace nasforge::report
