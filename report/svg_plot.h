#pragma once
// A small scatter/line plot written as inline SVG: axes with round ticks (linear or log10),
// markers with a tooltip, polylines and a legend. It knows nothing of trials; the sections give
// it numbers and CSS classes. Markers are <circle class="point ..."> so tests can count them.
#include <string>
#include <vector>

namespace nasforge::report {

struct Point {
  double x = 0;
  double y = 0;
};

struct PlotAxis {
  PlotAxis(std::string label, bool log = false, bool integer = false)
      : label(std::move(label)), log(log), integer(integer) {}

  std::string label;
  bool log = false;      // log10 scale; values <= 0 are left out
  bool integer = false;  // ticks on whole numbers only (trials, epochs)
};

class SvgPlot {
 public:
  static constexpr int kWidth = 560;
  static constexpr int kHeight = 300;

  SvgPlot(std::string id, PlotAxis x, PlotAxis y);

  // A marker: <circle class="point `cls`"> with `tooltip` as its <title>.
  void point(Point p, const std::string& cls, const std::string& tooltip);
  // A polyline through `points` in order: <path class="`cls`">.
  void line(const std::vector<Point>& points, const std::string& cls);
  // A legend entry: a marker (as_line false) or a line swatch with the class, and its label.
  void legend(const std::string& cls, const std::string& label, bool as_line = false);
  // Wraps the following lines and points in <g class="`cls`" `attributes`> until end_group().
  void begin_group(const std::string& cls, const std::string& attributes);
  void end_group();

  // The <svg id="..." class="plot"> element.
  std::string render() const;

 private:
  struct Item {
    enum class Kind { kPoint, kLine, kGroupBegin, kGroupEnd } kind;
    std::vector<Point> points;
    std::string cls;
    std::string text;  // tooltip, or a group's attributes
  };
  struct Legend {
    std::string cls, label;
    bool as_line;
  };

  std::string id_;
  PlotAxis x_, y_;
  std::vector<Item> items_;
  std::vector<Legend> legend_;
};

// Round tick values within [lo, hi]: steps of 1, 2 or 5 times a power of ten (linear; at least 1
// when `integer`), or the powers of ten (log; with 2 and 5 between them under two decades, and
// 3 too under one).
std::vector<double> ticks(double lo, double hi, bool log, bool integer = false);

}  // namespace nasforge::report
