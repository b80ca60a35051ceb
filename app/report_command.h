#pragma once
// `nasforge report`: writes the search's HTML report and says where it is.
#include <iosfwd>
#include <string>

namespace nasforge::app {

// Writes the report of the database `db_path` to `out_path` (empty: the database's path with
// .html in place of its extension) and prints one line naming the file.
void write_html_report(const std::string& db_path, const std::string& out_path, std::ostream& out);

}  // namespace nasforge::app
