#include "report/hparam_plots.h"

#include <algorithm>
#include <cctype>
#include <map>

#include "report/html.h"
#include "report/svg_plot.h"

namespace nasforge::report {

namespace {

// "explore: x1.25 of trial 3's" -> "explore".
std::string reason_kind(const std::string& reason) {
  const auto end = reason.find_first_of(": ");
  const auto kind = reason.substr(0, end);
  return kind.empty() ? "other" : kind;
}

std::string change_plot(const ReportData& data, const std::string& name,
                        const std::map<std::string, std::string>& kind_class) {
  std::vector<const store::HparamChange*> changes;
  for (const auto& c : data.hparam_changes) {
    if (c.name == name) changes.push_back(&c);
  }
  double lo = changes.front()->value, hi = lo;
  for (const auto* c : changes) lo = std::min(lo, c->value), hi = std::max(hi, c->value);
  SvgPlot plot(hparam_plot_id(name), {"trial", false, true}, {name, lo > 0 && hi >= 20 * lo});
  std::map<std::string, bool> used;
  for (const auto* c : changes) {
    const auto ordinal = data.ordinal_of(c->trial_id);
    const auto kind = reason_kind(c->reason);
    used[kind] = true;
    plot.point({ordinal ? static_cast<double>(*ordinal) : 0.0, c->value}, kind_class.at(kind),
               (ordinal ? "trial " + std::to_string(*ordinal) : std::string("experiment")) + ": " +
                   name + " = " + short_number(c->value) + " (" + c->reason + ")");
  }
  for (const auto& [kind, cls] : kind_class) {
    if (used.count(kind)) plot.legend(cls, kind);
  }
  return figure(name, plot.render(),
                std::to_string(changes.size()) +
                    " changes; a trial's value is set when it is "
                    "created (hover a point for the reason).");
}

std::string promotion_plot(const ReportData& data) {
  SvgPlot plot("plot-promotions", {"trial", false, true}, {"epochs (fidelity)", false, true});
  std::map<std::int64_t, const store::TrialRow*> by_ordinal;
  for (const auto& t : data.trials) by_ordinal[t.ordinal] = &t;
  auto finished = [](const store::TrialRow& t) {
    return t.state == TrialState::kCompleted || t.state == TrialState::kPruned;
  };
  for (const auto& t : data.trials) {
    if (!finished(t) || !t.parent || !by_ordinal.count(*t.parent)) continue;
    const auto& parent = *by_ordinal.at(*t.parent);
    if (!finished(parent)) continue;
    plot.line({{static_cast<double>(parent.ordinal), static_cast<double>(parent.result.epochs)},
               {static_cast<double>(t.ordinal), static_cast<double>(t.result.epochs)}},
              to_string(t.kind) + "-line");
  }
  for (const auto& t : data.trials) {
    if (!finished(t)) continue;
    plot.point({static_cast<double>(t.ordinal), static_cast<double>(t.result.epochs)},
               "kind-" + to_string(t.kind),
               "trial " + std::to_string(t.ordinal) + " (" + to_string(t.kind) +
                   (t.parent ? " of trial " + std::to_string(*t.parent) : "") +
                   "): " + std::to_string(t.result.epochs) + " epochs, " +
                   fixed(t.result.val_accuracy * 100, 2) + "%");
  }
  auto any = [&](TrialKind kind) {
    return std::any_of(data.trials.begin(), data.trials.end(),
                       [&](const auto& t) { return finished(t) && t.kind == kind; });
  };
  plot.legend("kind-new", "new trial");
  if (any(TrialKind::kPromotion)) plot.legend("kind-promotion", "promotion");
  if (any(TrialKind::kExtension)) plot.legend("kind-extension", "extension");
  plot.legend("promotion-line", "from its parent", true);
  return figure("Promotions and extensions", plot.render(),
                "Each finished trial at the epochs it trained for; a line joins a promoted or "
                "extended trial to the trial it continues.");
}

}  // namespace

std::string hparam_plot_id(const std::string& name) {
  std::string id = "plot-hparam-";
  for (const char c : name) {
    id += std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ? c : '_';
  }
  return id;
}

std::string hparams_section(const ReportData& data) {
  std::vector<std::string> names;
  std::map<std::string, std::string> kind_class;
  for (const auto& c : data.hparam_changes) {
    if (std::find(names.begin(), names.end(), c.name) == names.end()) names.push_back(c.name);
    const auto kind = reason_kind(c.reason);
    // One colour class per kind of reason, c0 to c9 in order of appearance.
    if (!kind_class.count(kind))
      kind_class[kind] = std::string("c").append(std::to_string(kind_class.size() % 10));
  }
  const bool promotions = std::any_of(data.trials.begin(), data.trials.end(),
                                      [](const auto& t) { return t.kind != TrialKind::kNew; });
  std::string html = "<section id=\"hparams\"><h2>Hyperparameters</h2>\n";
  if (names.empty() && !promotions) {
    return html +
           "<p class=\"note\" id=\"no-hparam-changes\">No hyperparameter changes or promotions "
           "were recorded: every trial used the experiment's training settings (see the table's "
           "hparams column).</p></section>\n";
  }
  html += "<div class=\"plots\">\n";
  for (const auto& name : names) html += change_plot(data, name, kind_class);
  if (promotions) html += promotion_plot(data);
  return html + "</div></section>\n";
}

}  // namespace nasforge::report
