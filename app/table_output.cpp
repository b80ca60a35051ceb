#include "app/table_output.h"

#include <charconv>
#include <ostream>

#include "common/errors.h"

namespace nasforge::app {

namespace {

// Invalid UTF-8 (an error message from a foreign library) is replaced, not an exception.
std::string json_text(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string plain_text(const nlohmann::json& value) {
  if (value.is_null()) return "";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_float()) {
    // The shortest text that reads back as the same double ("nan" and "inf" as pandas reads them).
    char text[32];
    const auto end = std::to_chars(text, text + sizeof text, value.get<double>()).ptr;
    return std::string(text, end);
  }
  return json_text(value);  // integers, booleans, arrays, objects
}

void check_width(const Table& table, const std::vector<nlohmann::json>& row) {
  if (row.size() != table.columns.size()) {
    throw InternalError("table row of " + std::to_string(row.size()) + " values for " +
                        std::to_string(table.columns.size()) + " columns");
  }
}

}  // namespace

std::string csv_field(const nlohmann::json& value) {
  const auto text = plain_text(value);
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (const char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

void write_csv(const Table& table, std::ostream& out) {
  auto line = [&](const auto& values) {
    for (size_t i = 0; i < values.size(); ++i) out << (i ? "," : "") << csv_field(values[i]);
    out << "\r\n";
  };
  line(table.columns);
  for (const auto& row : table.rows) {
    check_width(table, row);
    line(row);
  }
}

void write_json(const Table& table, std::ostream& out) {
  out << "[";
  for (size_t r = 0; r < table.rows.size(); ++r) {
    const auto& row = table.rows[r];
    check_width(table, row);
    out << (r ? ",\n" : "\n") << "{";
    for (size_t i = 0; i < row.size(); ++i) {
      out << (i ? ", " : "") << json_text(table.columns[i]) << ": " << json_text(row[i]);
    }
    out << "}";
  }
  out << (table.rows.empty() ? "]\n" : "\n]\n");
}

}  // namespace nasforge::app
