#include "search/progress_line.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "common/log.h"

namespace nasforge::search {

namespace {

// A terminal's line follows closely; a log file gets a line now and then.
constexpr double kTerminalInterval = 0.25;
constexpr double kPlainInterval = 10;

// printf into a string of the length it needs.
template <typename... Args>
std::string printf_string(const char* pattern, Args... args) {
  std::string text(static_cast<size_t>(std::snprintf(nullptr, 0, pattern, args...)), '\0');
  std::snprintf(text.data(), text.size() + 1, pattern, args...);
  return text;
}

// "trial 3 epoch 2/5 batch 120/469 1830 img/s ETA 0:12"; `compact` (trials side by side):
// "trial 3 e2/5 120/469 1830 img/s ETA 0:12", so that more of them fit in a terminal's width.
std::string trial_text(std::int64_t ordinal, const trainer::BatchProgress& p, bool compact) {
  auto text = printf_string(compact ? "trial %lld e%d/%d " : "trial %lld epoch %d/%d ",
                            static_cast<long long>(ordinal), p.epoch, p.epochs);
  if (p.batch >= p.batches) return text + "validating";
  text += printf_string(compact ? "%lld/%lld" : "batch %lld/%lld", static_cast<long long>(p.batch),
                        static_cast<long long>(p.batches));
  if (p.seconds <= 0 || p.images <= 0) return text;
  const double rate = static_cast<double>(p.images) / p.seconds;
  const double left = static_cast<double>(p.total_images - p.images) / rate;
  return text + printf_string(" %.0f img/s ETA %s", rate, format_duration(left).c_str());
}

// "3/10 trials, cost 1.20/4.00, 120/600 s, best 81.23%", each part only where it applies.
std::string standing_text(const SearchStanding& s) {
  auto text = s.trial_limit > 0 ? printf_string("%d/%d trials", s.finished, s.trial_limit)
                                : printf_string("%d trials", s.finished);
  if (s.cost_limit > 0) text += printf_string(", cost %.2f/%.2f", s.cost_spent, s.cost_limit);
  if (s.seconds_limit > 0) {
    text += printf_string(", %.0f/%.0f s", s.seconds_spent, s.seconds_limit);
  }
  if (s.best_val_accuracy) text += printf_string(", best %.2f%%", *s.best_val_accuracy * 100);
  return text;
}

}  // namespace

ProgressLine::ProgressLine(Output output, double interval_seconds, Clock clock)
    : output_(std::move(output)),
      interval_(interval_seconds),
      clock_(std::move(clock)),
      last_written_(clock_()) {}

ProgressLine::~ProgressLine() {
  if (output_.terminal) output_.write("");
}

double ProgressLine::steady_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void ProgressLine::batch(std::int64_t ordinal, const trainer::BatchProgress& progress) {
  std::lock_guard lock(mutex_);
  running_[ordinal] = progress;
  const double now = clock_();
  if (now - last_written_ < interval_) return;
  last_written_ = now;
  output_.write(text_locked());
}

void ProgressLine::trial_finished(std::int64_t ordinal) {
  std::lock_guard lock(mutex_);
  if (running_.erase(ordinal) == 0 || !output_.terminal) return;
  output_.write(running_.empty() ? std::string() : text_locked());
}

void ProgressLine::set_standing(const SearchStanding& standing) {
  std::lock_guard lock(mutex_);
  standing_ = standing;
}

std::string ProgressLine::text() const {
  std::lock_guard lock(mutex_);
  return text_locked();
}

std::string ProgressLine::text_locked() const {
  // The search's standing first: a terminal narrower than the line cuts the trials' details.
  auto text = standing_text(standing_);
  const bool compact = running_.size() > 1;
  for (const auto& [ordinal, progress] : running_) {
    text += " | " + trial_text(ordinal, progress, compact);
  }
  return text;
}

std::unique_ptr<ProgressLine> progress_on_stderr() {
  if (log::level() > log::Level::kInfo) return nullptr;
  if (log::stderr_is_terminal()) {
    return std::make_unique<ProgressLine>(
        ProgressLine::Output{true, [](const std::string& line) { log::set_status_line(line); }},
        kTerminalInterval);
  }
  return std::make_unique<ProgressLine>(
      ProgressLine::Output{false, [](const std::string& line) { log::info("progress: " + line); }},
      kPlainInterval);
}

std::string format_duration(double seconds) {
  // Capped at 10^6 hours: a rate near zero must not overflow the integer.
  const long long total = std::llround(std::clamp(seconds, 0.0, 3.6e9));
  if (total >= 3600)
    return printf_string("%lld:%02lld:%02lld", total / 3600, total / 60 % 60, total % 60);
  return printf_string("%lld:%02lld", total / 60, total % 60);
}

}  // namespace nasforge::search
