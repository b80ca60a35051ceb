#include "report/controller_section.h"

#include "report/html.h"
#include "report/series.h"
#include "report/svg_plot.h"

namespace nasforge::report {

namespace {

std::string value_text(const nlohmann::json& v) {
  if (v.is_number_float()) return short_number(v.get<double>());
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

// A two-column table of the state's scalar entries named in `keys` (those present).
std::string state_table(const nlohmann::json& state, const std::vector<std::string>& keys) {
  std::string html = "<table class=\"state\" id=\"controller-state\">\n";
  for (const auto& key : keys) {
    if (!state.contains(key)) continue;
    html +=
        "<tr><th>" + escape(key) + "</th><td>" + escape(value_text(state.at(key))) + "</td></tr>\n";
  }
  return html + "</table>\n";
}

std::string evolution(const ReportData& data, const nlohmann::json& state) {
  const auto options = state.value("options", nlohmann::json::object());
  const auto size = options.is_object() ? options.value("population", 0) : 0;
  // Every finished trial is an observation; failed ones join no population.
  std::vector<double> accuracies, observation;
  double observed = 0;
  for (const auto* t : data.by_finish_time()) {
    ++observed;
    if (t->state == TrialState::kCompleted || t->state == TrialState::kPruned) {
      accuracies.push_back(t->result.val_accuracy * 100);
      observation.push_back(observed);
    }
  }
  std::string html =
      state_table(state, {"proposals", "observations", "failures"}) +
      "<p class=\"note\">Population size " + std::to_string(size) + ", tournament sample " +
      std::to_string(options.is_object() ? options.value("sample", 0) : 0) + ".</p>\n";
  const auto members = state.value("population", nlohmann::json::array());
  if (accuracies.empty() || size <= 0) {
    return html + empty_plot("plot-population", "No trial has finished yet.");
  }
  SvgPlot plot("plot-population", {"finished trials (observations)", false, true},
               {"validation accuracy (%)"});
  const auto window = sliding_window(accuracies, static_cast<size_t>(size));
  std::vector<Point> lo, mid, hi;
  for (size_t i = 0; i < window.size(); ++i) {
    const double x = observation[i];
    lo.push_back({x, window[i].min});
    mid.push_back({x, window[i].median});
    hi.push_back({x, window[i].max});
  }
  plot.line(hi, "population-max");
  plot.line(mid, "population-median");
  plot.line(lo, "population-min");
  for (const auto& m : members) {
    const double reward = m.value("reward", 0.0);
    plot.point({m.value("born", 0.0), reward * 100}, "member",
               "member born at observation " + std::to_string(m.value("born", 0)) + ": reward " +
                   fixed(reward * 100, 2) + "%");
  }
  plot.legend("population-max", "best of the last " + std::to_string(size), true);
  plot.legend("population-median", "median", true);
  plot.legend("population-min", "worst", true);
  plot.legend("member", "current member (state)");
  return html + figure("Population accuracy", plot.render(),
                       "Lines: the last " + std::to_string(size) +
                           " finished trials (the ageing population) after each observation. "
                           "Markers: the members in the saved state, at the observation they "
                           "joined, with the reward the controller saw.");
}

std::string reinforce(const nlohmann::json& state) {
  return state_table(state, {"baseline", "has_baseline", "proposals", "observations", "updates"}) +
         "<p class=\"note\" id=\"reinforce-history-note\">The REINFORCE state keeps the current "
         "reward baseline and its counters, not their history, and not the policy's entropy: "
         "these are the values after the last observed trial (" +
         std::to_string(state.value("buffer", nlohmann::json::array()).size()) +
         " rewards wait in the buffer for the next policy update).</p>\n";
}

}  // namespace

std::string controller_section(const ReportData& data) {
  const auto type = data.type_of("controller");
  std::string html =
      "<section id=\"controller\"><h2>Controller: " + escape(type.empty() ? "?" : type) + "</h2>\n";
  if (!data.controller_state) {
    return html + "<p class=\"note\">No controller state saved yet.</p></section>\n";
  }
  const auto& state = *data.controller_state;
  const auto saved = state.value("type", std::string());
  if (saved == "evolution") return html + evolution(data, state) + "</section>\n";
  if (saved == "reinforce") return html + reinforce(state) + "</section>\n";
  return html + "<p class=\"note\">The " + escape(saved.empty() ? type : saved) +
         " controller keeps no diagnostics to show.</p></section>\n";
}

}  // namespace nasforge::report
