// The numbers behind the report's plots: running best, Pareto front, population window, ticks.
#include "tests/nasforge_catch.h"

#include "report/series.h"
#include "report/svg_plot.h"

using namespace nasforge::report;

TEST_CASE("running_max keeps the best value so far", "[report]") {
  CHECK(running_max({0.2, 0.5, 0.4, 0.7, 0.1}) == std::vector<double>{0.2, 0.5, 0.5, 0.7, 0.7});
  CHECK(running_max({}).empty());
}

TEST_CASE("pareto_front keeps the points that no cheaper or equal point beats", "[report]") {
  // (cost, accuracy): 1 beats 3 (cheaper, as accurate); 4 has the same cost as 2 and less.
  const std::vector<Point> points{{10, 0.5}, {20, 0.7}, {5, 0.4}, {30, 0.5}, {20, 0.6}, {40, 0.9}};
  CHECK(pareto_front(points) == std::vector<std::size_t>{2, 0, 1, 5});
  CHECK(pareto_front({}).empty());
  CHECK(pareto_front({{3, 0.1}}) == std::vector<std::size_t>{0});
}

TEST_CASE("sliding_window gives the spread of the last members", "[report]") {
  const auto w = sliding_window({1, 5, 3, 2}, 3);
  REQUIRE(w.size() == 4);
  CHECK(w[0].min == 1);
  CHECK(w[0].max == 1);
  CHECK(w[1].median == 3);  // {1, 5}
  CHECK(w[2].median == 3);  // {1, 5, 3}
  CHECK(w[3].min == 2);     // {5, 3, 2}: the 1 has aged out
  CHECK(w[3].max == 5);
  CHECK(sliding_window({1, 2}, 0).empty());
}

TEST_CASE("ticks are round numbers inside the range", "[report]") {
  const auto unit = ticks(0, 1, false);
  REQUIRE(unit.size() == 6);
  for (size_t i = 0; i < unit.size(); ++i) CHECK(unit[i] == Approx(0.2 * static_cast<double>(i)));
  CHECK(ticks(-0.3, 3.2, false, true) == std::vector<double>{0, 1, 2, 3});
  CHECK(ticks(800, 120000, true) == std::vector<double>{1000, 10000, 100000});
  CHECK(ticks(1500, 9000, true) == std::vector<double>{2000, 3000, 5000});
}
