#include "report/html.h"

#include <cmath>
#include <cstdio>

namespace nasforge::report {

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string cell(const std::string& sort_key, const std::string& shown, const std::string& cls) {
  return "<td" + (cls.empty() ? "" : " class=\"" + cls + "\"") + " data-v=\"" + escape(sort_key) +
         "\">" + escape(shown) + "</td>";
}

std::string number_cell(double value, const std::string& shown) {
  char key[64];
  std::snprintf(key, sizeof key, "%.17g", value);
  return cell(key, shown, "num");
}

std::string sortable_table_head(const std::string& id, std::initializer_list<const char*> headers) {
  std::string html = "<table id=\"" + escape(id) + "\" class=\"sortable\">\n<thead><tr>";
  for (const char* header : headers) html += std::string("<th>") + header + "</th>";
  return html + "</tr></thead>\n<tbody>\n";
}

std::string missing_cell() { return "<td class=\"num\" data-v=\"\">-</td>"; }

std::string fixed(double value, int digits) {
  if (std::isnan(value)) return "-";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, value);
  return buffer;
}

std::string short_number(double value) {
  char buffer[64];
  const double magnitude = std::fabs(value);
  if (magnitude >= 1e9) {
    std::snprintf(buffer, sizeof buffer, "%.3gG", value / 1e9);
  } else if (magnitude >= 1e6) {
    std::snprintf(buffer, sizeof buffer, "%.3gM", value / 1e6);
  } else if (magnitude >= 1e4) {
    std::snprintf(buffer, sizeof buffer, "%.3gk", value / 1e3);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.4g", value);
  }
  return buffer;
}

std::string duration(double seconds) {
  char buffer[64];
  if (seconds < 120) {
    std::snprintf(buffer, sizeof buffer, "%.0f s", seconds);
  } else if (seconds < 7200) {
    std::snprintf(buffer, sizeof buffer, "%.1f min", seconds / 60);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.1f h", seconds / 3600);
  }
  return buffer;
}

std::string figure(const std::string& title, const std::string& plot, const std::string& note) {
  return "<figure><figcaption>" + escape(title) + "</figcaption>\n" + plot +
         (note.empty() ? "" : "<p class=\"note\">" + escape(note) + "</p>\n") + "</figure>\n";
}

std::string empty_plot(const std::string& id, const std::string& reason) {
  return "<div id=\"" + escape(id) + "\" class=\"plot-empty\">" + escape(reason) + "</div>\n";
}

}  // namespace nasforge::report
