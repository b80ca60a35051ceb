#include "report/curves_plot.h"

#include <algorithm>

#include "report/html.h"
#include "report/svg_plot.h"

namespace nasforge::report {

namespace {

struct Curve {
  const store::TrialRow* trial;
  const std::vector<EpochRecord>* epochs;
  std::string cls;  // role and colour
};

void draw(SvgPlot& plot, const Curve& c) {
  const auto& t = *c.trial;
  plot.begin_group("curve " + c.cls, "data-trial=\"" + std::to_string(t.ordinal) + "\"");
  std::vector<Point> line;
  for (const auto& e : *c.epochs)
    line.push_back({static_cast<double>(e.epoch), e.val_accuracy * 100});
  plot.line(line, "curve-line");
  for (const auto& e : *c.epochs) {
    plot.point({static_cast<double>(e.epoch), e.val_accuracy * 100}, "",
               "trial " + std::to_string(t.ordinal) + " (" + to_string(t.state) + "), epoch " +
                   std::to_string(e.epoch) + ": " + fixed(e.val_accuracy * 100, 2) + "%");
  }
  plot.end_group();
}

}  // namespace

std::string curves_section(const ReportData& data) {
  std::vector<Curve> top, pruned, running;
  for (const auto& t : data.trials) {
    const auto it = data.epochs.find(t.id);
    if (it == data.epochs.end()) continue;
    if (t.state == TrialState::kCompleted) top.push_back({&t, &it->second, "top"});
    if (t.state == TrialState::kPruned) pruned.push_back({&t, &it->second, "pruned"});
    if (t.state == TrialState::kRunning) running.push_back({&t, &it->second, "running"});
  }
  // Most accurate first; equal accuracies keep the earlier trial.
  std::stable_sort(top.begin(), top.end(), [](const Curve& a, const Curve& b) {
    return a.trial->result.val_accuracy > b.trial->result.val_accuracy;
  });
  if (top.size() > kTopCurves) top.resize(kTopCurves);
  for (size_t rank = 0; rank < top.size(); ++rank) top[rank].cls += " c" + std::to_string(rank);

  std::string html = "<section id=\"curves\"><h2>Learning curves</h2><div class=\"plots\">\n";
  const std::string title = "Validation accuracy per epoch";
  if (top.empty() && pruned.empty() && running.empty()) {
    const std::string reason =
        data.type_of("evaluator") == "nb201-table"
            ? "No per-epoch curves: this search looked final accuracies up in the "
              "NAS-Bench-201 table, without training."
            : "No epoch has been recorded yet.";
    return html + figure(title, empty_plot("plot-curves", reason), "") + "</div></section>\n";
  }
  SvgPlot plot("plot-curves", {"epoch", false, true}, {"validation accuracy (%)"});
  for (const auto& c : pruned) draw(plot, c);
  for (auto it = top.rbegin(); it != top.rend(); ++it) draw(plot, *it);  // best drawn last
  for (const auto& c : running) draw(plot, c);
  if (!top.empty()) plot.legend("top c0", "top completed (best in blue)", true);
  if (!pruned.empty()) plot.legend("pruned", "pruned (faded)", true);
  if (!running.empty()) plot.legend("running", "running", true);
  const std::string note =
      "The " + std::to_string(top.size()) + " most accurate completed trials" +
      (pruned.empty() ? "" : ", " + std::to_string(pruned.size()) + " pruned") +
      (running.empty() ? "" : ", " + std::to_string(running.size()) + " running") + ".";
  return html + figure(title, plot.render(), note) + "</div></section>\n";
}

}  // namespace nasforge::report
