#pragma once
// The search's progress while trials train, as one line:
//   3/10 trials, best 81.23% | trial 3 epoch 2/5 batch 120/469 1830 img/s ETA 0:12
// the search's standing (trials or budget spent, the best validation accuracy so far), then each
// running trial's epoch, batch, images per second and the time left in its epoch. On a terminal
// the line is redrawn in place below the log a few times a second; otherwise it is printed as a
// plain line every `interval` (CI, log files). The batch callbacks come from the training
// threads: every method is thread-safe.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "trainer/evaluator.h"

namespace nasforge::search {

// Where the search stands, as the loop knows it when a trial settles.
struct SearchStanding {
  int finished = 0;     // trials finished
  int trial_limit = 0;  // 0: none
  double cost_spent = 0;
  double cost_limit = 0;  // 0: none
  double seconds_spent = 0;
  double seconds_limit = 0;  // 0: none
  std::optional<double> best_val_accuracy;
};

class ProgressLine {
 public:
  // Seconds on a monotonic clock.
  using Clock = std::function<double()>;
  // Where the text goes: on a terminal `write` replaces the line in place ("" removes it);
  // otherwise each call is one more line.
  struct Output {
    bool terminal = false;
    std::function<void(const std::string&)> write;
  };

  // Writes at most once per `interval_seconds` (the first time one interval after this is made).
  ProgressLine(Output output, double interval_seconds, Clock clock = steady_seconds);
  // Removes the terminal's line.
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  // A training step of trial `ordinal` is done.
  void batch(std::int64_t ordinal, const trainer::BatchProgress& progress);
  // Trial `ordinal` stopped training; on a terminal the line is redrawn (removed when no trial is
  // left), so that the trial's outcome is logged below a line that no longer shows it.
  void trial_finished(std::int64_t ordinal);
  void set_standing(const SearchStanding& standing);

  // The line as it would be drawn now.
  std::string text() const;

  static double steady_seconds();

 private:
  std::string text_locked() const;

  Output output_;
  double interval_;
  Clock clock_;
  mutable std::mutex mutex_;
  double last_written_;
  std::map<std::int64_t, trainer::BatchProgress> running_;  // by ordinal
  SearchStanding standing_;
};

// The progress line on stderr: redrawn in place on a terminal (log::set_status_line), a plain
// log line every 10 s otherwise; null when info lines are not logged (--quiet).
std::unique_ptr<ProgressLine> progress_on_stderr();

// "0:07", "12:05", "1:02:03".
std::string format_duration(double seconds);

}  // namespace nasforge::search
