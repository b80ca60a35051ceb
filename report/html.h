#pragma once
// Small pieces of HTML writing shared by the report's sections: escaping and number formatting.
#include <initializer_list>
#include <string>
#include <string_view>

namespace nasforge::report {

// Escapes &, <, >, " and ' for text and attribute values.
std::string escape(std::string_view text);
// A number with `digits` decimals ("0.912"); "-" for NaN.
std::string fixed(double value, int digits);
// A number in a short form for axes and tables: 12, 0.25, 1.5k, 3.2M, 1e-05.
std::string short_number(double value);
// Seconds as "42 s", "3.5 min" or "2.1 h".
std::string duration(double seconds);

// Cells of a sortable table (the page's script sorts by data-v): text shown and sorted by
// `sort_key`; a number (class num, sorted by its value); a missing value ("-", sorted first).
std::string cell(const std::string& sort_key, const std::string& shown,
                 const std::string& cls = "");
std::string number_cell(double value, const std::string& shown);
std::string missing_cell();
// `<table id="..." class="sortable">` with its header row, up to the opening <tbody>.
std::string sortable_table_head(const std::string& id, std::initializer_list<const char*> headers);

// A plot with its title and a note under it: <figure> ... </figure>.
std::string figure(const std::string& title, const std::string& plot, const std::string& note);
// What stands in a plot's place when there is nothing to draw: a box with the plot's id and the
// reason, so a reader (and a test) sees that the plot was left out on purpose.
std::string empty_plot(const std::string& id, const std::string& reason);

}  // namespace nasforge::report
