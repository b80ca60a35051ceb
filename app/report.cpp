#include "app/report.h"

#include <cstdio>
#include <ostream>

namespace nasforge::search {

void print_trial_table(const std::vector<store::TrialRow>& trials, std::ostream& out) {
  char line[512];
  std::snprintf(line, sizeof line, "%5s  %-9s  %8s  %10s  %9s  %6s  %8s  %s\n", "trial", "status",
                "val_acc", "params", "MFLOPs", "epochs", "time_s", "architecture");
  out << line;
  for (const auto& t : trials) {
    const bool finished = t.state == TrialState::kCompleted || t.state == TrialState::kPruned;
    const bool measured =
        finished && (t.result.params > 0 || t.result.flops > 0);  // not a table lookup
    std::snprintf(
        line, sizeof line, "%5lld  %-9s  %8s  %10s  %9s  %6s  %8s  %s\n",
        static_cast<long long>(t.ordinal), to_string(t.state).c_str(),
        finished ? std::to_string(t.result.val_accuracy * 100).substr(0, 6).c_str() : "-",
        measured ? std::to_string(t.result.params).c_str() : "-",
        measured ? std::to_string(static_cast<double>(t.result.flops) / 1e6).substr(0, 7).c_str()
                 : "-",
        finished ? std::to_string(t.result.epochs).c_str() : "-",
        t.state == TrialState::kRunning || t.state == TrialState::kPending
            ? "-"
            : std::to_string(t.result.wall_seconds).substr(0, 7).c_str(),
        t.arch_canonical.c_str());
    out << line;
    if (t.state == TrialState::kFailed && !t.result.error.empty())
      out << "       reason: " << t.result.error << "\n";
  }
}

}  // namespace nasforge::search
