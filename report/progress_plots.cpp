#include "report/progress_plots.h"

#include <algorithm>

#include "report/html.h"
#include "report/series.h"
#include "report/svg_plot.h"

namespace nasforge::report {

namespace {

bool has_accuracy(const store::TrialRow& t) {
  return t.state == TrialState::kCompleted || t.state == TrialState::kPruned;
}

std::string point_class(const ReportData& data, const store::TrialRow& t) {
  std::string cls = to_string(t.state);
  if (data.best && data.best->id == t.id) cls += " best-trial";
  return cls;
}

std::string tooltip(const store::TrialRow& t) {
  return "trial " + std::to_string(t.ordinal) + " (" + to_string(t.state) +
         "): " + fixed(t.result.val_accuracy * 100, 2) + "%, " + t.arch_canonical;
}

// A staircase through (x[i], best so far at i) over the completed trials.
std::vector<Point> best_steps(const std::vector<Point>& completed) {
  std::vector<double> ys;
  for (const auto& p : completed) ys.push_back(p.y);
  const auto best = running_max(ys);
  std::vector<Point> steps;
  for (size_t i = 0; i < completed.size(); ++i) {
    if (i > 0) steps.push_back({completed[i].x, best[i - 1]});
    steps.push_back({completed[i].x, best[i]});
  }
  return steps;
}

// One best-so-far plot over `trials` (in x order) with x given by `x_of`.
template <typename XOf>
std::string best_plot(const ReportData& data, const std::string& id, const PlotAxis& x_axis,
                      const std::vector<const store::TrialRow*>& trials, XOf x_of) {
  SvgPlot plot(id, x_axis, {"validation accuracy (%)"});
  std::vector<Point> completed;
  for (const auto* t : trials) {
    if (t->state == TrialState::kCompleted)
      completed.push_back({x_of(*t), t->result.val_accuracy * 100});
  }
  plot.line(best_steps(completed), "best-line");
  for (const auto* t : trials) {
    plot.point({x_of(*t), t->result.val_accuracy * 100}, point_class(data, *t), tooltip(*t));
  }
  const bool pruned = std::any_of(trials.begin(), trials.end(),
                                  [](const auto* t) { return t->state == TrialState::kPruned; });
  plot.legend("best-line", "best so far (completed)", true);
  plot.legend("completed", "completed trial");
  if (pruned) plot.legend("pruned", "pruned trial (faded)");
  if (data.best) plot.legend("best-trial", "best trial");
  return plot.render();
}

}  // namespace

std::string progress_section(const ReportData& data) {
  std::vector<const store::TrialRow*> by_ordinal;
  for (const auto& t : data.trials) {
    if (has_accuracy(t)) by_ordinal.push_back(&t);
  }
  std::string html = "<section id=\"progress\"><h2>Progress</h2><div class=\"plots\">\n";
  if (by_ordinal.empty()) {
    const std::string reason = "No trial has finished with an accuracy yet (" +
                               std::to_string(data.trials.size()) + " trials recorded).";
    html += figure("Best so far against trials", empty_plot("plot-best-trials", reason), "");
    html += figure("Best so far against wall-clock time", empty_plot("plot-best-time", reason), "");
    return html + "</div></section>\n";
  }
  html += figure(
      "Best so far against trials",
      best_plot(data, "plot-best-trials", {"trial", false, true}, by_ordinal,
                [](const store::TrialRow& t) { return static_cast<double>(t.ordinal); }),
      "Each point is a finished trial's validation accuracy (pruned trials at the epoch they "
      "stopped); the line is the best completed trial so far, at any fidelity.");

  std::vector<const store::TrialRow*> by_time;
  for (const auto* t : data.by_finish_time()) {
    if (has_accuracy(*t)) by_time.push_back(t);
  }
  const double created = data.experiment.created_at;
  const double span = by_time.back()->finished_at - created;
  const bool minutes = span > 180;
  html += figure(
      "Best so far against wall-clock time",
      best_plot(
          data, "plot-best-time",
          {minutes ? "minutes since the search started" : "seconds since the search started"},
          by_time,
          [&](const store::TrialRow& t) { return (t.finished_at - created) / (minutes ? 60 : 1); }),
      "Time is when each trial finished, counted from the experiment's creation "
      "(a resumed search includes the time it was stopped).");
  return html + "</div></section>\n";
}

}  // namespace nasforge::report
