#pragma once
// Accuracy against cost in the command line's words: the best trial as the search ranks it (by
// the objective's reward when the experiment has one), the Pareto front for `status`, and the
// trial `export` picks under --max-params / --max-flops.
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>

#include "search/experiment.h"
#include "store/sqlite_store.h"

namespace nasforge::search {

// Limits on the trial `export` picks; none: the search's best.
struct ExportLimits {
  std::optional<std::int64_t> max_params;
  std::optional<std::int64_t> max_flops;
};

// "1.53 M params", "220.1 MFLOPs", "3.21 ms".
std::string cost_text(const std::string& cost, double value);

// The search's best trial (store.best_trial under best_trial_query), or none.
std::optional<store::TrialRow> search_best(const store::SqliteStore& store,
                                           std::int64_t experiment_id,
                                           const Experiment& experiment);

// The best trial within the limits, by the search's rule; throws ConfigError in one line when
// no completed trial fits (naming the smallest one there is).
store::TrialRow best_within(const store::SqliteStore& store, std::int64_t experiment_id,
                            const Experiment& experiment, const ExportLimits& limits);

// ", reward 0.8812 (1.53 M params)": what the objective made of a trial; empty without one.
std::string reward_text(const Experiment& experiment, const store::TrialRow& trial);

// The objective in one line ("objective: reward = acc * (params / 1e+06)^w, ...") when the
// experiment has one, then the Pareto front of accuracy against the objective's cost (else
// parameters, else FLOPs) when completed trials have that cost, at most `max_lines` of it.
void print_cost_summary(const store::SqliteStore& store, std::int64_t experiment_id,
                        const Experiment& experiment, std::ostream& out, int max_lines = 8);

}  // namespace nasforge::search
