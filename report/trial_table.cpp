#include "report/trial_table.h"

#include <cstdio>

#include "report/html.h"

namespace nasforge::report {

namespace {

// {"learning_rate": 0.0357770876, "batch_size": 128} -> "learning_rate=0.03578 batch_size=128".
std::string hparams_text(const nlohmann::json& hparams) {
  std::string text;
  for (const auto& [name, value] : hparams.items()) {
    char number[32];
    if (value.is_number()) std::snprintf(number, sizeof number, "%.4g", value.get<double>());
    text += (text.empty() ? "" : " ") + name + "=" +
            (value.is_number()   ? std::string(number)
             : value.is_string() ? value.get<std::string>()
                                 : value.dump());
  }
  return text;
}

}  // namespace

std::string trial_table_section(const ReportData& data) {
  std::string html =
      "<section id=\"trial-table\"><h2>Trials</h2>\n<p class=\"note\">Click a header to sort "
      "(again to reverse).</p>\n";
  html +=
      sortable_table_head("trials", {"trial", "state", "kind", "parent", "val acc (%)", "params",
                                     "FLOPs", "epochs", "seconds", "hparams", "architecture"});
  for (const auto& t : data.trials) {
    const bool scored = t.state == TrialState::kCompleted || t.state == TrialState::kPruned;
    const bool finished = is_finished(t.state);
    const auto& r = t.result;
    html += "<tr class=\"trial " + to_string(t.state) + "\" data-ordinal=\"" +
            std::to_string(t.ordinal) + "\">";
    html += number_cell(static_cast<double>(t.ordinal), std::to_string(t.ordinal));
    html += cell(to_string(t.state), to_string(t.state), "state");
    html += cell(to_string(t.kind), to_string(t.kind));
    html += t.parent ? number_cell(static_cast<double>(*t.parent), std::to_string(*t.parent))
                     : missing_cell();
    html +=
        scored ? number_cell(r.val_accuracy * 100, fixed(r.val_accuracy * 100, 2)) : missing_cell();
    html += finished && r.params > 0 ? number_cell(static_cast<double>(r.params),
                                                   short_number(static_cast<double>(r.params)))
                                     : missing_cell();
    html += finished && r.flops > 0 ? number_cell(static_cast<double>(r.flops),
                                                  short_number(static_cast<double>(r.flops)))
                                    : missing_cell();
    html += finished ? number_cell(r.epochs, std::to_string(r.epochs)) : missing_cell();
    html += finished ? number_cell(r.wall_seconds, fixed(r.wall_seconds, 1)) : missing_cell();
    const auto hparams = t.hparams.is_object() ? hparams_text(t.hparams) : "";
    html += cell(hparams, hparams, "hparams");
    std::string arch = t.arch_canonical;
    if (t.state == TrialState::kFailed && !r.error.empty()) arch += " (failed: " + r.error + ")";
    html += cell(t.arch_canonical, arch, "arch");
    html += "</tr>\n";
  }
  return html + "</tbody></table></section>\n";
}

const char* sortable_table_script() {
  return R"JS(
document.querySelectorAll('table.sortable').forEach(function (table) {
  var headers = table.tHead.rows[0].cells;
  Array.prototype.forEach.call(headers, function (th, column) {
    th.addEventListener('click', function () {
      var ascending = th.getAttribute('aria-sort') !== 'ascending';
      Array.prototype.forEach.call(headers, function (h) { h.removeAttribute('aria-sort'); });
      th.setAttribute('aria-sort', ascending ? 'ascending' : 'descending');
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      rows.sort(function (a, b) {
        var x = a.cells[column].dataset.v, y = b.cells[column].dataset.v;
        if (x === '' || y === '') return (x === '') - (y === '');
        var nx = Number(x), ny = Number(y);
        var order = !isNaN(nx) && !isNaN(ny) ? nx - ny : x.localeCompare(y);
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
)JS";
}

}  // namespace nasforge::report
