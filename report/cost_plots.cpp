#include "report/cost_plots.h"

#include <algorithm>
#include <set>

#include "report/html.h"
#include "report/series.h"
#include "report/svg_plot.h"

namespace nasforge::report {

namespace {

struct Cost {
  std::string id, title, axis, noun, plural;
  std::int64_t (*of)(const store::TrialRow&);
};

std::string why_not_measured(const ReportData& data, const Cost& cost, bool any_completed) {
  if (data.type_of("evaluator") == "nb201-table") {
    return cost.plural +
           " not measured: this search looked its accuracies up in the NAS-Bench-201 table, "
           "which holds no " +
           cost.noun + " counts.";
  }
  if (!any_completed) return "No trial has completed yet.";
  return cost.plural + " not measured by this search's evaluator.";
}

std::string cost_plot(const ReportData& data, const Cost& cost) {
  std::vector<const store::TrialRow*> measured;
  bool any_completed = false;
  for (const auto& t : data.trials) {
    if (t.state != TrialState::kCompleted) continue;
    any_completed = true;
    if (cost.of(t) > 0) measured.push_back(&t);
  }
  if (measured.empty()) {
    return figure(cost.title, empty_plot(cost.id, why_not_measured(data, cost, any_completed)), "");
  }
  std::vector<Point> points;
  for (const auto* t : measured) {
    points.push_back({static_cast<double>(cost.of(*t)), t->result.val_accuracy * 100});
  }
  const auto front = pareto_front(points);
  const std::set<size_t> on_front(front.begin(), front.end());
  const auto [lo, hi] =
      std::minmax_element(points.begin(), points.end(), [](auto& a, auto& b) { return a.x < b.x; });
  SvgPlot plot(cost.id, {cost.axis, hi->x > 20 * lo->x}, {"validation accuracy (%)"});
  std::vector<Point> stairs;
  for (size_t k = 0; k < front.size(); ++k) {
    if (k > 0) stairs.push_back({points[front[k]].x, points[front[k - 1]].y});
    stairs.push_back(points[front[k]]);
  }
  plot.line(stairs, "pareto-line");
  for (size_t i = 0; i < measured.size(); ++i) {
    const auto& t = *measured[i];
    plot.point(points[i], on_front.count(i) ? "completed pareto" : "completed",
               "trial " + std::to_string(t.ordinal) + ": " + fixed(points[i].y, 2) + "%, " +
                   short_number(points[i].x) + " " + cost.noun + ", " + t.arch_canonical);
  }
  plot.legend("pareto-line", "Pareto front", true);
  plot.legend("pareto", "on the front");
  plot.legend("completed", "completed trial");
  return figure(cost.title, plot.render(),
                std::to_string(front.size()) + " of " + std::to_string(measured.size()) +
                    " completed trials are on the front: no other trial is both cheaper and "
                    "more accurate.");
}

}  // namespace

std::string cost_section(const ReportData& data) {
  const Cost params{"plot-params", "Accuracy against parameters",
                    "parameters",  "parameter",
                    "Parameters",  [](const store::TrialRow& t) { return t.result.params; }};
  const Cost flops{"plot-flops",
                   "Accuracy against FLOPs",
                   "FLOPs (multiply-adds per image)",
                   "FLOP",
                   "FLOPs",
                   [](const store::TrialRow& t) { return t.result.flops; }};
  return "<section id=\"cost\"><h2>Accuracy and cost</h2><div class=\"plots\">\n" +
         cost_plot(data, params) + cost_plot(data, flops) + "</div></section>\n";
}

}  // namespace nasforge::report
