#include "report/html_report.h"

#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>

#include "common/errors.h"
#include "report/arch_diagram.h"
#include "report/compression_section.h"
#include "report/controller_section.h"
#include "report/cost_plots.h"
#include "report/curves_plot.h"
#include "report/hparam_plots.h"
#include "report/html.h"
#include "report/page_style.h"
#include "report/progress_plots.h"
#include "report/trial_table.h"
#include "store/sqlite_store.h"

namespace nasforge::report {

namespace {

std::string local_time(double seconds) {
  const auto t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  localtime_r(&t, &tm);
  char buffer[64];
  std::strftime(buffer, sizeof buffer, "%Y-%m-%d %H:%M:%S", &tm);
  return buffer;
}

std::string summary(const ReportData& data) {
  const auto& e = data.experiment;
  std::map<TrialState, int> count;
  double last = e.created_at;
  for (const auto& t : data.trials) {
    ++count[t.state];
    if (is_finished(t.state)) last = std::max(last, t.finished_at);
  }
  std::string html = "<section id=\"summary\"><table class=\"summary\">\n";
  auto row = [&](const std::string& key, const std::string& value) {
    html += "<tr><th>" + escape(key) + "</th><td>" + escape(value) + "</td></tr>\n";
  };
  row("status", e.status);
  row("started", local_time(e.created_at));
  row("search space", data.type_of("space"));
  row("controller", data.type_of("controller"));
  row("evaluator", data.type_of("evaluator").empty() ? "train" : data.type_of("evaluator"));
  std::string trials = std::to_string(data.trials.size());
  std::string states;
  for (const auto state : {TrialState::kCompleted, TrialState::kPruned, TrialState::kFailed,
                           TrialState::kRunning, TrialState::kPending}) {
    if (count[state] == 0) continue;
    states += (states.empty() ? "" : ", ") + std::to_string(count[state]) + " " + to_string(state);
  }
  row("trials", trials + (states.empty() ? "" : " (" + states + ")"));
  row("best", data.best ? fixed(data.best->result.val_accuracy * 100, 2) + "% (trial " +
                              std::to_string(data.best->ordinal) + ")"
                        : "none yet");
  row("last trial finished", duration(last - e.created_at) + " after the start");
  html += "</table>\n";
  if (e.status == "running") {
    html +=
        "<p class=\"note\" id=\"still-running\">The search was still running when this report "
        "was written: it shows the trials recorded by then.</p>\n";
  }
  return html + "</section>\n";
}

}  // namespace

std::string render_report(const ReportData& data) {
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n";
  html += "<title>nasforge: " + escape(data.experiment.name) + "</title>\n";
  html += "<style>" + std::string(page_style()) + "</style>\n</head>\n<body>\n";
  html += "<header><h1>" + escape(data.experiment.name) +
          "</h1><p class=\"generated\">nasforge report, written " + local_time(data.generated_at) +
          "</p></header>\n";
  html += summary(data);
  html += progress_section(data);
  html += cost_section(data);
  html += curves_section(data);
  html += architecture_section(data);
  html += hparams_section(data);
  html += controller_section(data);
  html += trial_table_section(data);
  html += compression_section(data);
  html += "<script>" + std::string(sortable_table_script()) + "</script>\n</body>\n</html>\n";
  return html;
}

ReportData write_report(const std::string& db_path, const std::string& out_path) {
  namespace fs = std::filesystem;
  if (!fs::exists(db_path)) throw StoreError(db_path + ": no such database");
  const auto store = store::SqliteStore::open(db_path);
  auto data = load_report_data(store);
  const auto html = render_report(data);
  const fs::path out(out_path);
  const fs::path partial = out.string() + ".partial";
  {
    std::ofstream file(partial, std::ios::binary);
    file << html;
    if (!file.flush()) {
      throw DataError(out_path + ": cannot write the report (is the folder there and writable?)");
    }
  }
  std::error_code error;
  fs::rename(partial, out, error);
  if (error) {
    fs::remove(partial, error);
    throw DataError(out_path + ": cannot write the report (" + error.message() + ")");
  }
  return data;
}

}  // namespace nasforge::report
