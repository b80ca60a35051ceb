// Tables as CSV (RFC 4180) and JSON: quoting, numbers that read back exactly, nulls.
#include "tests/nasforge_catch.h"

#include <cmath>
#include <limits>
#include <sstream>

#include "app/table_output.h"
#include "app/trials_command.h"
#include "common/errors.h"

using nasforge::app::csv_field;
using nasforge::app::Table;
using nlohmann::json;

TEST_CASE("a CSV field is quoted only when it holds a comma, a quote, CR or LF", "[app]") {
  CHECK(csv_field("plain text") == "plain text");
  CHECK(csv_field("a,b") == "\"a,b\"");
  CHECK(csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(csv_field("two\nlines") == "\"two\nlines\"");
  CHECK(csv_field("cr\r") == "\"cr\r\"");
  CHECK(csv_field(json()) == "");
  CHECK(csv_field(json::object({{"a", 1}, {"b", 2}})) == "\"{\"\"a\"\":1,\"\"b\"\":2}\"");
  CHECK(csv_field(true) == "true");
}

TEST_CASE("numbers in CSV are the shortest text that reads back as the same value", "[app]") {
  CHECK(csv_field(0.1) == "0.1");
  CHECK(csv_field(42) == "42");
  CHECK(csv_field(-7) == "-7");
  CHECK(csv_field(1e-300) == "1e-300");
  for (const double value : {0.1 + 0.2, 1.0 / 3, 0.75536, 123456.789e10}) {
    CHECK(std::stod(csv_field(value)) == value);
  }
  CHECK(csv_field(std::numeric_limits<double>::quiet_NaN()) == "nan");
  CHECK(csv_field(std::numeric_limits<double>::infinity()) == "inf");
}

TEST_CASE("a table is written as CSV lines ending CRLF and as JSON objects in column order",
          "[app]") {
  Table table;
  table.columns = {"z", "a", "note"};
  table.rows = {{1, 0.5, "x, y"}, {2, json(), json()}};
  std::ostringstream csv;
  nasforge::app::write_csv(table, csv);
  CHECK(csv.str() == "z,a,note\r\n1,0.5,\"x, y\"\r\n2,,\r\n");
  std::ostringstream js;
  nasforge::app::write_json(table, js);
  CHECK(js.str() ==
        "[\n{\"z\": 1, \"a\": 0.5, \"note\": \"x, y\"},\n"
        "{\"z\": 2, \"a\": null, \"note\": null}\n]\n");
  CHECK(json::parse(js.str())[0].at("note") == "x, y");

  Table empty;
  empty.columns = {"a"};
  std::ostringstream none;
  nasforge::app::write_json(empty, none);
  CHECK(none.str() == "[]\n");

  table.rows.push_back({1});
  std::ostringstream ignored;
  CHECK_THROWS_AS(nasforge::app::write_csv(table, ignored), nasforge::InternalError);
}

TEST_CASE("times are ISO 8601 in UTC, to the millisecond", "[app]") {
  CHECK(nasforge::app::iso_utc(0) == "1970-01-01T00:00:00.000Z");
  CHECK(nasforge::app::iso_utc(1714564800.25) == "2024-05-01T12:00:00.250Z");
  CHECK(nasforge::app::iso_utc(1714564800.9996) == "2024-05-01T12:00:01.000Z");
}
