#pragma once
// A table of plain values written as CSV (RFC 4180) or as JSON (an array of objects, one per row,
// keys in column order): what `nasforge trials` gives pandas and spreadsheets.
#include <iosfwd>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace nasforge::app {

struct Table {
  std::vector<std::string> columns;
  // One value per column: null (an empty CSV field), a number, a string, a boolean; an array or
  // object is written as its JSON text in CSV.
  std::vector<std::vector<nlohmann::json>> rows;
};

// A header line, then one line per row, each ended by CRLF; a field holding a comma, a double
// quote, CR or LF is quoted, with its double quotes doubled. Numbers round-trip exactly.
void write_csv(const Table& table, std::ostream& out);
// [{"column": value, ...}, ...], one row per line.
void write_json(const Table& table, std::ostream& out);

// One CSV field: the value's text, quoted when RFC 4180 asks for it.
std::string csv_field(const nlohmann::json& value);

}  // namespace nasforge::app
