#include "report/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "report/html.h"

namespace nasforge::report {

namespace {

constexpr double kLeft = 62, kRight = 14, kTop = 14, kBottom = 44;

double nice_step(double span, bool integer) {
  const double raw = span / 5;
  const double power = std::pow(10.0, std::floor(std::log10(raw)));
  double step = 10 * power;
  for (const double m : {1.0, 2.0, 5.0}) {
    if (m * power >= raw) {
      step = m * power;
      break;
    }
  }
  return integer ? std::max(1.0, std::round(step)) : step;
}

bool usable(double v, bool log) { return std::isfinite(v) && (!log || v > 0); }

// The axis's range: the data's, with a little room on each side.
std::pair<double, double> axis_range(const PlotAxis& axis, double lo, double hi) {
  if (lo > hi) lo = hi = axis.log ? 1 : 0;  // no data
  if (axis.log) {
    double a = std::log10(lo), b = std::log10(hi);
    const double pad = std::max(0.05, (b - a) * 0.04);
    return {std::pow(10.0, a - pad), std::pow(10.0, b + pad)};
  }
  if (lo == hi) {
    const double pad = lo == 0 ? 0.5 : std::fabs(lo) * 0.1;
    lo -= pad, hi += pad;
  }
  const double pad = (hi - lo) * 0.04;
  return {lo - pad, hi + pad};
}

std::string num(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", v);
  return buffer;
}

}  // namespace

std::vector<double> ticks(double lo, double hi, bool log, bool integer) {
  std::vector<double> out;
  if (!(hi > lo)) return {lo};
  if (log) {
    const double decades = std::log10(hi / lo);
    const auto multiples = decades < 1   ? std::vector<double>{1, 2, 3, 5}
                           : decades < 2 ? std::vector<double>{1, 2, 5}
                                         : std::vector<double>{1};
    for (double p = std::pow(10.0, std::floor(std::log10(lo))); p <= hi; p *= 10) {
      for (const double m : multiples) {
        if (p * m >= lo && p * m <= hi) out.push_back(p * m);
      }
    }
    return out;
  }
  const double step = nice_step(hi - lo, integer);
  for (double v = std::ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-6; v += step) {
    out.push_back(std::fabs(v) < step * 1e-9 ? 0 : v);
  }
  return out;
}

SvgPlot::SvgPlot(std::string id, PlotAxis x, PlotAxis y)
    : id_(std::move(id)), x_(std::move(x)), y_(std::move(y)) {}

void SvgPlot::point(Point p, const std::string& cls, const std::string& tooltip) {
  items_.push_back({Item::Kind::kPoint, {p}, cls, tooltip});
}

void SvgPlot::line(const std::vector<Point>& points, const std::string& cls) {
  items_.push_back({Item::Kind::kLine, points, cls, ""});
}

void SvgPlot::legend(const std::string& cls, const std::string& label, bool as_line) {
  legend_.push_back({cls, label, as_line});
}

void SvgPlot::begin_group(const std::string& cls, const std::string& attributes) {
  items_.push_back({Item::Kind::kGroupBegin, {}, cls, attributes});
}

void SvgPlot::end_group() { items_.push_back({Item::Kind::kGroupEnd, {}, "", ""}); }

std::string SvgPlot::render() const {
  constexpr double inf = std::numeric_limits<double>::infinity();
  double x_lo = inf, x_hi = -inf, y_lo = inf, y_hi = -inf;
  for (const auto& item : items_) {
    for (const auto& p : item.points) {
      if (!usable(p.x, x_.log) || !usable(p.y, y_.log)) continue;
      x_lo = std::min(x_lo, p.x), x_hi = std::max(x_hi, p.x);
      y_lo = std::min(y_lo, p.y), y_hi = std::max(y_hi, p.y);
    }
  }
  const auto [x0, x1] = axis_range(x_, x_lo, x_hi);
  const auto [y0, y1] = axis_range(y_, y_lo, y_hi);
  const double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  auto fraction = [](double v, double lo, double hi, bool log) {
    return log ? std::log10(v / lo) / std::log10(hi / lo) : (v - lo) / (hi - lo);
  };
  auto px = [&](double v) { return kLeft + plot_w * fraction(v, x0, x1, x_.log); };
  auto py = [&](double v) { return kTop + plot_h * (1 - fraction(v, y0, y1, y_.log)); };

  // The legend in rows under the x axis label, so that it never covers a point.
  std::string legend;
  double legend_x = kLeft, legend_y = kHeight + 6;
  for (const auto& entry : legend_) {
    const double entry_w = 34 + 6.2 * static_cast<double>(entry.label.size());
    if (legend_x > kLeft && legend_x + entry_w > kWidth - kRight) legend_x = kLeft, legend_y += 18;
    const double x = legend_x + 8;
    if (entry.as_line) {
      legend += "<path class=\"swatch " + escape(entry.cls) + "\" d=\"M" + num(x - 7) + " " +
                num(legend_y - 4) + " L" + num(x + 7) + " " + num(legend_y - 4) + "\"/>";
    } else {
      legend += "<circle class=\"swatch " + escape(entry.cls) + "\" cx=\"" + num(x) + "\" cy=\"" +
                num(legend_y - 4) + "\" r=\"3.5\"/>";
    }
    legend += "<text class=\"legend\" x=\"" + num(x + 13) + "\" y=\"" + num(legend_y) + "\">" +
              escape(entry.label) + "</text>\n";
    legend_x += entry_w;
  }
  const auto height = std::to_string(legend_.empty() ? kHeight : static_cast<int>(legend_y) + 8);
  std::string s = "<svg id=\"" + escape(id_) + "\" class=\"plot\" viewBox=\"0 0 " +
                  std::to_string(kWidth) + " " + height + "\" width=\"" + std::to_string(kWidth) +
                  "\" height=\"" + height + "\" xmlns=\"http://www.w3.org/2000/svg\">\n";
  s += "<rect class=\"frame\" x=\"" + num(kLeft) + "\" y=\"" + num(kTop) + "\" width=\"" +
       num(plot_w) + "\" height=\"" + num(plot_h) + "\"/>\n";
  for (const double t : ticks(x0, x1, x_.log, x_.integer)) {
    const auto x = num(px(t));
    s += "<line class=\"grid\" x1=\"" + x + "\" x2=\"" + x + "\" y1=\"" + num(kTop) + "\" y2=\"" +
         num(kTop + plot_h) + "\"/><text class=\"tick\" x=\"" + x + "\" y=\"" +
         num(kTop + plot_h + 15) + "\" text-anchor=\"middle\">" + escape(short_number(t)) +
         "</text>\n";
  }
  for (const double t : ticks(y0, y1, y_.log, y_.integer)) {
    const auto y = num(py(t));
    s += "<line class=\"grid\" x1=\"" + num(kLeft) + "\" x2=\"" + num(kLeft + plot_w) + "\" y1=\"" +
         y + "\" y2=\"" + y + "\"/><text class=\"tick\" x=\"" + num(kLeft - 6) + "\" y=\"" +
         num(py(t) + 4) + "\" text-anchor=\"end\">" + escape(short_number(t)) + "</text>\n";
  }
  s += "<text class=\"axis-label\" x=\"" + num(kLeft + plot_w / 2) + "\" y=\"" + num(kHeight - 8) +
       "\" text-anchor=\"middle\">" + escape(x_.label) + "</text>\n";
  s += "<text class=\"axis-label\" transform=\"translate(14 " + num(kTop + plot_h / 2) +
       ") rotate(-90)\" text-anchor=\"middle\">" + escape(y_.label) + "</text>\n";

  // In the order given (callers add lines before the markers that sit on them); a marker outside
  // a log axis's domain is left out.
  for (const auto& item : items_) {
    switch (item.kind) {
      case Item::Kind::kGroupBegin:
        s += "<g class=\"" + escape(item.cls) + "\" " + item.text + ">\n";
        break;
      case Item::Kind::kGroupEnd:
        s += "</g>\n";
        break;
      case Item::Kind::kLine: {
        std::string d;
        for (const auto& p : item.points) {
          if (!usable(p.x, x_.log) || !usable(p.y, y_.log)) continue;
          d += (d.empty() ? "M" : " L") + num(px(p.x)) + " " + num(py(p.y));
        }
        if (!d.empty()) s += "<path class=\"" + escape(item.cls) + "\" d=\"" + d + "\"/>\n";
        break;
      }
      case Item::Kind::kPoint: {
        const auto& p = item.points.front();
        if (!usable(p.x, x_.log) || !usable(p.y, y_.log)) break;
        s += "<circle class=\"point" + (item.cls.empty() ? "" : " " + escape(item.cls)) +
             "\" cx=\"" + num(px(p.x)) + "\" cy=\"" + num(py(p.y)) + "\" r=\"3.5\"><title>" +
             escape(item.text) + "</title></circle>\n";
        break;
      }
    }
  }
  s += legend;
  s += "</svg>\n";
  return s;
}

}  // namespace nasforge::report
