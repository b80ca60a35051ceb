#include "search/budget.h"

#include <algorithm>

namespace nasforge::search {

Budget::Budget(const BudgetLimits& limits, int max_epochs)
    : limits_(limits), max_epochs_(std::max(1, max_epochs)) {}

bool Budget::admits_trial(int in_flight) const { return finished_ + in_flight < limits_.trials; }

bool Budget::admits_cost(double cost) const {
  // The tolerance keeps sums of epoch fractions (12/200 + ...) from missing an exact fit.
  return limits_.cost <= 0 || spent_cost_ + reserved_cost_ + cost <= limits_.cost + 1e-9;
}

bool Budget::has_time_left() const {
  return limits_.seconds <= 0 || spent_seconds_ < limits_.seconds;
}

bool Budget::time_spent_with(double running_seconds) const {
  return limits_.seconds > 0 && spent_seconds_ + running_seconds >= limits_.seconds;
}

double Budget::cost_of_epochs(int epochs) const {
  return static_cast<double>(epochs) / max_epochs_;
}

void Budget::reserve(double cost) { reserved_cost_ += cost; }

void Budget::settle(double reserved, double spent_cost, double seconds) {
  reserved_cost_ -= reserved;
  spent_cost_ += spent_cost;
  spent_seconds_ += seconds;
  ++finished_;
}

}  // namespace nasforge::search
