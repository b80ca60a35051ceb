#include "report/compression_section.h"

#include <cstdio>

#include "report/html.h"

namespace nasforge::report {

namespace {

// "12.3k (0.48x)": a count and its ratio to the parent's, when the parent's is known.
std::string kept(double value, double parent) {
  std::string text = short_number(value);
  if (parent > 0) text += " (" + fixed(value / parent, 2) + "x)";
  return text;
}

std::string percent(double fraction) { return fixed(fraction * 100, 2); }

// The settings a reader compares runs by, e.g. "flops_ratio=0.5 epochs=2".
std::string settings_text(const nlohmann::json& settings) {
  std::string text;
  for (const auto& [key, value] : settings.items()) {
    if (value.is_object() || value.is_array()) continue;  // nested details stay in the database
    text += (text.empty() ? "" : " ") + key + "=" +
            (value.is_string()         ? value.get<std::string>()
             : value.is_number_float() ? short_number(value.get<double>())
                                       : value.dump());
  }
  return text;
}

}  // namespace

std::string compression_section(const ReportData& data) {
  if (data.compressions.empty()) return "";
  std::string html =
      "<section id=\"compression\"><h2>Compression</h2>\n<p class=\"note\">Runs of "
      "<code>nasforge compress</code> on this search's trials; ratios are to the trial "
      "compressed.</p>\n";
  html += sortable_table_head("compressions",
                              {"run", "trial", "method", "params", "FLOPs", "bytes", "val acc (%)",
                               "test acc (%)", "latency (ms)", "settings", "folder"});
  for (const auto& c : data.compressions) {
    const store::TrialRow* parent = nullptr;
    for (const auto& t : data.trials) {
      if (t.ordinal == c.parent_ordinal) parent = &t;
    }
    const double parent_params = parent ? static_cast<double>(parent->result.params) : 0;
    const double parent_flops = parent ? static_cast<double>(parent->result.flops) : 0;
    html += "<tr class=\"compression\" data-parent=\"" + std::to_string(c.parent_ordinal) + "\">";
    html += number_cell(static_cast<double>(c.id), std::to_string(c.id));
    html += number_cell(static_cast<double>(c.parent_ordinal), std::to_string(c.parent_ordinal));
    html += cell(c.method, c.method);
    html += number_cell(static_cast<double>(c.params),
                        kept(static_cast<double>(c.params), parent_params));
    html +=
        number_cell(static_cast<double>(c.flops), kept(static_cast<double>(c.flops), parent_flops));
    html += number_cell(static_cast<double>(c.model_bytes),
                        short_number(static_cast<double>(c.model_bytes)));
    html += number_cell(c.val_accuracy, percent(c.val_accuracy));
    html +=
        c.test_accuracy ? number_cell(*c.test_accuracy, percent(*c.test_accuracy)) : missing_cell();
    html += number_cell(c.latency_ms, fixed(c.latency_ms, 3));
    html += cell(settings_text(c.settings), settings_text(c.settings));
    html += cell(c.out_dir, c.out_dir);
    html += "</tr>\n";
  }
  return html + "</tbody>\n</table>\n</section>\n";
}

}  // namespace nasforge::report
