// The report in a real browser: headless Chromium renders it to a PNG, and every plot's region
// holds drawn pixels of the expected size; the DOM Chromium built keeps every marker; a click on
// a header sorts the table; no script or console error is logged.
#include "tests/nasforge_catch.h"

#include <algorithm>
#include <map>
#include <span>

#include "report/html_report.h"
#include "tests/report/chromium.h"
#include "tests/report/html_probe.h"
#include "tests/report/searches.h"
#include "trainer/data/image_decode.h"

using namespace nasforge;
using namespace nasforge::testing;
using nlohmann::json;

namespace {

// Appended to a copy of the report: records where each plot and diagram is drawn and how many
// markers Chromium's DOM holds, then clicks the accuracy header twice (best first) and records
// the row order.
constexpr const char* kProbe = R"(<script>
(function () {
  var boxes = {};
  document.querySelectorAll('svg.plot, svg.diagram, .plot-empty').forEach(function (e) {
    var r = e.getBoundingClientRect();
    boxes[e.id] = {x: r.left + window.scrollX, y: r.top + window.scrollY, w: r.width,
                   h: r.height, points: e.querySelectorAll('circle.point').length,
                   empty: e.classList.contains('plot-empty')};
  });
  document.body.setAttribute('data-layout', JSON.stringify(boxes));
  document.body.setAttribute('data-height', String(document.documentElement.scrollHeight));
  var accuracy = document.querySelectorAll('#trials thead th')[4];
  accuracy.click();
  accuracy.click();
  var order = [];
  document.querySelectorAll('#trials tbody tr').forEach(function (r) {
    order.push(r.getAttribute('data-ordinal'));
  });
  document.body.setAttribute('data-sorted', order.join(','));
})();
</script>
)";

std::string unescape(std::string text) {
  for (const auto& [from, to] : std::vector<std::pair<std::string, std::string>>{
           {"&quot;", "\""}, {"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}}) {
    for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + 1))
      text.replace(at, from.size(), to);
  }
  return text;
}

std::string body_attribute(const std::string& dom, const std::string& name) {
  const auto body = dom.find("<body");
  const auto attrs = attributes(dom.substr(body, dom.find('>', body) - body), name);
  return attrs.empty() ? "" : unescape(attrs.front());
}

struct Ink {
  long dark = 0;    // pixels visibly not white (lines, text, markers)
  long colour = 0;  // saturated pixels: markers and coloured lines, never the grey axes
};

Ink ink_in(const trainer::DecodedImage& image, int x0, int y0, int w, int h) {
  Ink ink;
  for (int y = std::max(0, y0); y < std::min(image.height, y0 + h); ++y) {
    for (int x = std::max(0, x0); x < std::min(image.width, x0 + w); ++x) {
      const auto* p = &image.pixels[(static_cast<size_t>(y) * image.width + x) * image.channels];
      const int hi = std::max({p[0], p[1], p[2]}), lo = std::min({p[0], p[1], p[2]});
      ink.dark += lo < 200;
      ink.colour += hi - lo > 60;
    }
  }
  return ink;
}

// Renders `report` in Chromium and checks the drawing, the DOM, the sorting and the console.
void check_in_browser(const std::string& chromium, const TempDir& dir, const std::string& report,
                      const std::vector<store::TrialRow>& trials,
                      const std::vector<std::string>& plots) {
  const auto html = read_text(report);
  auto probed = html;
  probed.insert(probed.rfind("</body>"), kProbe);
  const auto probe_page = dir.file("probe.html");
  std::ofstream(probe_page) << probed;

  const auto dom = run_chromium(chromium, dir, probe_page, "--dump-dom", 3000);
  REQUIRE(dom.exit_code == 0);
  CHECK(console_errors(dom.err) == std::vector<std::string>{});
  const auto layout = json::parse(body_attribute(dom.out, "data-layout"));
  const int height = std::stoi(body_attribute(dom.out, "data-height"));
  for (const auto& id : plots) CHECK(layout.contains(id));

  // The table sorted by a click: best first, trials without an accuracy last.
  std::map<std::string, const store::TrialRow*> by_ordinal;
  for (const auto& t : trials) by_ordinal[std::to_string(t.ordinal)] = &t;
  std::vector<double> sorted;
  std::string order = body_attribute(dom.out, "data-sorted") + ",";
  size_t rows = 0;
  for (auto at = order.find(','); at != std::string::npos; at = order.find(',')) {
    const auto& t = *by_ordinal.at(order.substr(0, at));
    order.erase(0, at + 1);
    ++rows;
    const bool scored = t.state == TrialState::kCompleted || t.state == TrialState::kPruned;
    sorted.push_back(scored ? t.result.val_accuracy : -1);
  }
  CHECK(rows == trials.size());
  CHECK(std::is_sorted(sorted.rbegin(), sorted.rend()));

  // The page as a reader sees it, all of it in one screenshot.
  const auto png = dir.file("report.png");
  const auto shot = run_chromium(chromium, dir, report, "--screenshot=" + png, height);
  REQUIRE(shot.exit_code == 0);
  CHECK(console_errors(shot.err) == std::vector<std::string>{});
  const auto bytes = read_text(png);
  const auto decoded = trainer::decode_image(
      std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
  REQUIRE(decoded.ok());
  const auto& image = decoded.image;
  CHECK(image.width == 1200);
  CHECK(image.height == height);
  REQUIRE(image.channels >= 3);

  for (const auto& [id, box] : layout.items()) {
    INFO(id << ": " << box.dump());
    const int x = static_cast<int>(box.at("x").get<double>()),
              y = static_cast<int>(box.at("y").get<double>()),
              w = static_cast<int>(box.at("w").get<double>()),
              h = static_cast<int>(box.at("h").get<double>());
    CHECK(y + h <= image.height);
    const auto ink = ink_in(image, x, y, w, h);
    if (box.at("empty").get<bool>()) {
      // A box saying why there is no plot: its text, nothing coloured.
      CHECK(w >= 500);
      CHECK(ink.dark > 100);
      CHECK(ink.colour == 0);
      continue;
    }
    // The markers survived Chromium's parser, one per marker written.
    CHECK(box.at("points").get<size_t>() == count(element(html, id), "<circle class=\"point"));
    CHECK(ink.dark > 300);  // the frame, ticks and labels at least
    if (id == "arch-diagram") continue;
    CHECK(w == 560);
    CHECK(h >= 300);
    // Coloured pixels: at least a marker's worth for each of the first markers.
    CHECK(ink.colour >= 20 * std::min<long>(5, box.at("points").get<long>()));
  }
}

}  // namespace

TEST_CASE("Chromium's log check catches a page whose script throws", "[report][browser]") {
  const auto chromium = find_chromium();
  NASFORGE_REQUIRE_CHROMIUM(chromium);
  TempDir dir("browser-control");
  const auto page = dir.file("broken.html");
  std::ofstream(page) << "<!DOCTYPE html><html><body><script>undefinedFunction();</script>"
                         "</body></html>";
  const auto run = run_chromium(chromium, dir, page, "--dump-dom", 600);
  REQUIRE(run.exit_code == 0);
  INFO(run.err);
  CHECK(console_errors(run.err).size() == 1);
}

TEST_CASE("a blocks search's report draws every plot and the diagram in Chromium",
          "[report][browser]") {
  const auto chromium = find_chromium();
  NASFORGE_REQUIRE_CHROMIUM(chromium);
  TempDir dir("browser-blocks");
  const auto db = dir.file("blocks.db");
  write_synthetic_search(db);
  report::write_report(db, dir.file("report.html"));
  const auto store = store::SqliteStore::open(db);
  check_in_browser(chromium, dir, dir.file("report.html"), store.trials(store.experiment().id),
                   {"plot-best-trials", "plot-best-time", "plot-params", "plot-flops",
                    "plot-curves", "arch-diagram", "plot-hparam-learning_rate",
                    "plot-hparam-epochs", "plot-promotions", "plot-population"});
}

TEST_CASE("an NB201-table search's report draws in Chromium and says what it cannot plot",
          "[report][browser]") {
  const auto chromium = find_chromium();
  NASFORGE_REQUIRE_CHROMIUM(chromium);
  TempDir dir("browser-nb201");
  const auto db = dir.file("nb.db");
  run_in_process(db, nb201_search({{"type", "evolution"}, {"population", 6}, {"sample", 3}}, 30));
  report::write_report(db, dir.file("report.html"));
  const auto store = store::SqliteStore::open(db);
  check_in_browser(chromium, dir, dir.file("report.html"), store.trials(store.experiment().id),
                   {"plot-best-trials", "plot-best-time", "plot-params", "plot-flops",
                    "plot-curves", "arch-diagram", "plot-population"});
}
