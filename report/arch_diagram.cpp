#include "report/arch_diagram.h"

#include <algorithm>
#include <cstdio>

#include "report/html.h"
#include "space/nb201_space.h"

namespace nasforge::report {

namespace {

std::string num(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", v);
  return buffer;
}

std::string text(double x, double y, const std::string& cls, const std::string& content) {
  return "<text class=\"" + cls + "\" x=\"" + num(x) + "\" y=\"" + num(y) +
         "\" text-anchor=\"middle\">" + escape(content) + "</text>";
}

std::string box(double x, double y, double w, double h, const std::string& cls) {
  return "<rect class=\"" + cls + "\" x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" + num(w) +
         "\" height=\"" + num(h) + "\" rx=\"6\"/>";
}

std::string svg_open(double width, double height) {
  return "<svg id=\"arch-diagram\" class=\"diagram\" viewBox=\"0 0 " + num(width) + " " +
         num(height) + "\" width=\"" + num(width) + "\" height=\"" + num(height) +
         "\" xmlns=\"http://www.w3.org/2000/svg\">\n";
}

}  // namespace

std::string block_diagram(const space::BlockSpace& space, const space::Architecture& arch) {
  constexpr double kTop = 20, kHeight = 120, kGap = 36, kSmall = 96, kStage = 156;
  const auto stages = space.stages(arch);
  const double width =
      20 + 3 * (kSmall + kGap) + static_cast<double>(stages.size()) * (kStage + kGap);
  std::string s = svg_open(width, kTop + kHeight + 30);
  double x = 10;
  const double mid = kTop + kHeight / 2;
  auto arrow = [&](const std::string& label) {
    s += "<path class=\"arrow\" d=\"M" + num(x + 2) + " " + num(mid) + " L" + num(x + kGap - 4) +
         " " + num(mid) + " M" + num(x + kGap - 10) + " " + num(mid - 5) + " L" +
         num(x + kGap - 4) + " " + num(mid) + " L" + num(x + kGap - 10) + " " + num(mid + 5) +
         "\"/>";
    if (!label.empty()) s += text(x + kGap / 2, mid - 8, "arrow-label", label);
    s += "\n";
    x += kGap;
  };
  s += "<g class=\"input\">" + box(x, kTop + 30, kSmall, kHeight - 60, "io") +
       text(x + kSmall / 2, mid + 4, "box-title", "input") + "</g>\n";
  x += kSmall;
  arrow("");
  s += "<g class=\"stem\" data-width=\"" + std::to_string(space.stem_width()) + "\">" +
       box(x, kTop, kSmall, kHeight, "stem-box") +
       text(x + kSmall / 2, kTop + 22, "box-title", "stem") +
       text(x + kSmall / 2, kTop + 50, "box-text", "conv 3×3") +
       text(x + kSmall / 2, kTop + 70, "box-text", std::to_string(space.stem_width()) + " ch") +
       text(x + kSmall / 2, kTop + 90, "box-text", "BN, ReLU") + "</g>\n";
  x += kSmall;
  for (size_t i = 0; i < stages.size(); ++i) {
    const auto& stage = stages[i];
    arrow(i == 0 ? "" : "/2");
    const auto block = space::to_string(stage.block);
    const bool dense = stage.block == space::BlockType::kDense;
    s += "<g class=\"stage\" data-stage=\"" + std::to_string(i) + "\" data-block=\"" +
         escape(block) + "\" data-depth=\"" + std::to_string(stage.depth) + "\" data-width=\"" +
         std::to_string(stage.width) + "\" data-growth=\"" +
         std::to_string(dense ? stage.growth_rate : 0) + "\" data-kernel=\"" +
         std::to_string(stage.kernel) + "\">";
    s += box(x, kTop, kStage, kHeight, "block " + escape(block));
    s += text(x + kStage / 2, kTop + 20, "box-title", "stage " + std::to_string(i));
    s += text(x + kStage / 2, kTop + 40, "box-text", block + " × " + std::to_string(stage.depth));
    s += text(x + kStage / 2, kTop + 58, "box-text",
              dense ? "growth " + std::to_string(stage.growth_rate) + ", width " +
                          std::to_string(stage.width)
                    : "width " + std::to_string(stage.width));
    const auto k = std::to_string(stage.kernel);
    s += text(x + kStage / 2, kTop + 76, "box-text", "kernel " + k + "×" + k);
    // One small box per block of the stage's depth.
    const double unit_w =
        std::min(14.0, (kStage - 16) / static_cast<double>(std::max(stage.depth, 1)) - 2);
    const double units_w = (unit_w + 2) * stage.depth - 2;
    for (int u = 0; u < stage.depth; ++u) {
      s += "<rect class=\"unit\" x=\"" + num(x + (kStage - units_w) / 2 + u * (unit_w + 2)) +
           "\" y=\"" + num(kTop + 90) + "\" width=\"" + num(unit_w) + "\" height=\"14\"/>";
    }
    s += "</g>\n";
    x += kStage;
  }
  arrow("");
  s += "<g class=\"head\">" + box(x, kTop, kSmall, kHeight, "head-box") +
       text(x + kSmall / 2, kTop + 22, "box-title", "head") +
       text(x + kSmall / 2, kTop + 50, "box-text", "global pool") +
       text(x + kSmall / 2, kTop + 70, "box-text", "linear") + "</g>\n";
  return s + "</svg>\n";
}

std::string nb201_diagram(const std::vector<std::string>& ops) {
  constexpr double kY = 130, kStep = 200, kLeft = 60, kRadius = 20;
  std::string s = svg_open(kLeft * 2 + 3 * kStep, 270);
  for (size_t e = 0; e < ops.size() && e < space::Nb201Space::kEdges; ++e) {
    const int from = space::Nb201Space::kEdgeFrom[e], to = space::Nb201Space::kEdgeTo[e];
    const double x0 = kLeft + from * kStep, x1 = kLeft + to * kStep;
    // Neighbours are joined straight, two apart arc above, three apart arc below.
    const double bend = to - from == 1 ? 0 : to - from == 2 ? -190 : 230;
    const double cx = (x0 + x1) / 2, cy = kY + bend;
    const double label_y = (kY + 2 * cy + kY) / 4;  // the curve's middle
    s += "<path class=\"edge op-" + escape(ops[e]) + "\" data-from=\"" + std::to_string(from) +
         "\" data-to=\"" + std::to_string(to) + "\" data-op=\"" + escape(ops[e]) + "\" d=\"M" +
         num(x0) + " " + num(kY) + " Q" + num(cx) + " " + num(cy) + " " + num(x1) + " " + num(kY) +
         "\"/>";
    s += text(cx, label_y + (bend == 0 ? -6 : 4), "op", ops[e]) + "\n";
  }
  for (int n = 0; n < 4; ++n) {
    const double x = kLeft + n * kStep;
    s += "<circle class=\"node\" cx=\"" + num(x) + "\" cy=\"" + num(kY) + "\" r=\"" + num(kRadius) +
         "\"/>" + text(x, kY + 5, "node-label", std::to_string(n)) + "\n";
  }
  s += text(kLeft, kY + 40, "box-text", "input") +
       text(kLeft + 3 * kStep, kY + 40, "box-text", "output");
  return s + "</svg>\n";
}

std::string architecture_section(const ReportData& data) {
  std::string html = "<section id=\"architecture\"><h2>Best architecture</h2>\n";
  if (!data.best) {
    return html +
           "<p class=\"note\" id=\"no-best\">No trial has completed yet: the best architecture "
           "is drawn here once one has.</p></section>\n";
  }
  const auto& best = *data.best;
  html += "<p>Trial " + std::to_string(best.ordinal) + ", validation accuracy " +
          fixed(best.result.val_accuracy * 100, 2) + "% after " +
          std::to_string(best.result.epochs) + " epochs: <code>" + escape(best.arch_canonical) +
          "</code></p>\n";
  try {
    const auto space = space::make_search_space(data.experiment.config.at("space"));
    const auto arch = space->parse(best.arch_canonical);
    if (const auto* blocks = dynamic_cast<const space::BlockSpace*>(space.get())) {
      html += "<div class=\"diagram-box\">" + block_diagram(*blocks, arch) + "</div>\n";
    } else if (const auto* nb201 = dynamic_cast<const space::Nb201Space*>(space.get())) {
      std::vector<std::string> ops;
      for (size_t e = 0; e < arch.choices().size(); ++e) {
        ops.push_back(space->decisions()[e].choices[static_cast<size_t>(arch.choices()[e])]);
      }
      html += "<div class=\"diagram-box\">" + nb201_diagram(ops) + "</div>\n";
      html +=
          "<p class=\"note\">One cell; edges run from the lower node to the higher, each "
          "node sums its incoming edges. The network repeats the cell " +
          std::to_string(nb201->cells_per_stage()) + " times in each of 3 stages, from " +
          std::to_string(nb201->channels()) + " channels.</p>\n";
    } else {
      html += "<p class=\"note\">No diagram for the " + escape(space->type()) + " space.</p>\n";
    }
  } catch (const std::exception& e) {
    // nlohmann's and nasforge's errors alike: a report is still worth having without it.
    html += "<p class=\"note\">The diagram could not be drawn: " + escape(e.what()) + "</p>\n";
  }
  return html + "</section>\n";
}

}  // namespace nasforge::report
