// The search's progress line: how often it is written, what it says, and that the log never
// mixes with it; and that a real search feeds it one update per training step.
#include "tests/nasforge_catch.h"

#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "common/log.h"
#include "search/experiment.h"
#include "search/progress_line.h"
#include "search/search_loop.h"
#include "store/sqlite_store.h"
#include "tests/search/cli_helpers.h"

using namespace nasforge;
using namespace nasforge::testing;
using nlohmann::json;

namespace {

// A progress line on a clock the test moves, writing into `written`.
struct Recorded {
  double now = 100;
  std::vector<std::string> written;
  search::ProgressLine line;

  Recorded(bool terminal, double interval)
      : line({terminal, [this](const std::string& text) { written.push_back(text); }}, interval,
             [this] { return now; }) {}
};

trainer::BatchProgress step(std::int64_t batch, std::int64_t batches = 469, int epoch = 2) {
  trainer::BatchProgress p;
  p.epoch = epoch;
  p.epochs = 5;
  p.batch = batch;
  p.batches = batches;
  p.total_images = batches * 128;
  p.images = batch * 128;
  p.seconds = static_cast<double>(batch) * 0.1;  // 1280 img/s
  return p;
}

}  // namespace

TEST_CASE("off a terminal the progress is a plain line once per interval", "[search]") {
  Recorded r(/*terminal=*/false, /*interval=*/10);
  // 35 steps, one second apart: lines at 10, 20 and 30 s, none at the start.
  for (int b = 1; b <= 35; ++b) {
    r.now += 1;
    r.line.batch(4, step(b));
  }
  REQUIRE(r.written.size() == 3);
  CHECK(r.written[0] == "0 trials | trial 4 epoch 2/5 batch 10/469 1280 img/s ETA 0:46");
  CHECK(r.written[2] == "0 trials | trial 4 epoch 2/5 batch 30/469 1280 img/s ETA 0:44");
  // Nothing is written when a trial ends off a terminal (the log says it), nor at the end.
  r.line.trial_finished(4);
  CHECK(r.written.size() == 3);
}

TEST_CASE("the progress line says the search's standing and the trials side by side", "[search]") {
  Recorded r(/*terminal=*/true, /*interval=*/0.25);
  search::SearchStanding standing;
  standing.finished = 3;
  standing.trial_limit = 10;
  standing.cost_spent = 1.2;
  standing.cost_limit = 4;
  standing.seconds_spent = 120.4;
  standing.seconds_limit = 600;
  standing.best_val_accuracy = 0.81234;
  r.line.set_standing(standing);
  r.line.batch(3, step(120));
  r.line.batch(4, step(469));  // its last step: now it validates
  CHECK(r.line.text() ==
        "3/10 trials, cost 1.20/4.00, 120/600 s, best 81.23% | trial 3 e2/5 120/469 1280 img/s "
        "ETA 0:35 | trial 4 e2/5 validating");
  CHECK(r.written.empty());  // within the first interval
  r.now += 0.3;
  r.line.batch(3, step(121));
  REQUIRE(r.written.size() == 1);
  CHECK_THAT(r.written[0], Catch::StartsWith("3/10 trials") && Catch::Contains("121/469"));
  // On a terminal a finished trial leaves the line at once; the last one removes it.
  r.line.trial_finished(4);
  REQUIRE(r.written.size() == 2);
  CHECK_THAT(r.written[1], !Catch::Contains("trial 4") && Catch::Contains("trial 3 epoch 2/5"));
  r.line.trial_finished(3);
  REQUIRE(r.written.size() == 3);
  CHECK(r.written[2].empty());
}

TEST_CASE("a progress line on a terminal is removed when it goes", "[search]") {
  std::vector<std::string> written;
  {
    search::ProgressLine line({true, [&](const std::string& text) { written.push_back(text); }}, 0);
    line.batch(0, step(1));
  }
  REQUIRE(written.size() == 2);
  CHECK_FALSE(written[0].empty());
  CHECK(written[1].empty());
}

TEST_CASE("durations read as minutes and seconds, or hours", "[search]") {
  CHECK(search::format_duration(0) == "0:00");
  CHECK(search::format_duration(7.4) == "0:07");
  CHECK(search::format_duration(725) == "12:05");
  CHECK(search::format_duration(3723) == "1:02:03");
  CHECK(search::format_duration(-5) == "0:00");
  CHECK(search::format_duration(1e300) == "1000000:00:00");
}

TEST_CASE("a log line clears the status line, prints, and draws it again", "[search]") {
  // stderr is unbuffered: its file descriptor, pointed at a file for the test, gets every byte.
  std::FILE* file = std::tmpfile();
  REQUIRE(file);
  const int saved = dup(STDERR_FILENO);
  dup2(fileno(file), STDERR_FILENO);
  log::set_level(log::Level::kInfo);
  log::set_status_line("3/10 trials");
  log::info("trial 4 completed");
  log::set_status_line("");
  dup2(saved, STDERR_FILENO);
  close(saved);
  std::rewind(file);
  std::string text;
  for (int c; (c = std::fgetc(file)) != EOF;) text += static_cast<char>(c);
  std::fclose(file);
  const std::string clear = "\r\x1b[K";
  CHECK_THAT(text, Catch::StartsWith("\r3/10 trials\x1b[K" + clear + "["));
  CHECK_THAT(text, Catch::EndsWith("] trial 4 completed\n3/10 trials" + clear));
}

TEST_CASE("a search feeds the progress line once per training step", "[search]") {
  TempDir dir("progress-search");
  // The synthetic set: 960 training images, 15 steps of 64 per epoch.
  const auto experiment = search::Experiment::from_json(json::parse(R"({
    "name": "progress", "seed": 2, "budget": {"trials": 2},
    "space": {"type": "blocks", "stem_width": 8, "stages": [
      {"block": ["basic"], "depth": [1], "width": [8]}]},
    "controller": {"type": "random"},
    "dataset": {"name": "synthetic", "format": "synthetic", "validation_fraction": 0.2},
    "training": {"epochs": 2, "batch_size": 64, "learning_rate": 0.05, "device": "cpu",
                 "threads": 1}})"),
                                                        "test");
  auto store = store::SqliteStore::create(dir.file("p.db"));
  store.create_experiment(experiment.name, experiment.to_json());
  auto prepared = search::prepare(experiment);
  std::vector<std::string> lines;
  {
    // Interval 0: every step is written.
    search::ProgressLine progress({false, [&](const std::string& text) { lines.push_back(text); }},
                                  0);
    search::SearchLoop loop(store, store.experiment().id, experiment, prepared,
                            dir.file("p.db.artifacts"));
    loop.show_progress(&progress);
    loop.run();
  }
  REQUIRE(lines.size() == 2 * 2 * 15);
  CHECK_THAT(lines.front(), Catch::StartsWith("0/2 trials | trial 0 epoch 1/2 batch 1/15"));
  CHECK_THAT(lines[29], Catch::StartsWith("0/2 trials | trial 0 epoch 2/2 validating"));
  // The second trial's lines carry the first one's outcome.
  const auto first = store.trials(store.experiment().id).front().result.val_accuracy;
  char best[64];
  std::snprintf(best, sizeof best, "1/2 trials, best %.2f%% | trial 1 epoch 1/2 batch 1/15",
                first * 100);
  CHECK_THAT(lines[30], Catch::StartsWith(best));
}
