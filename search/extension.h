#pragma once
// "fidelity.extend_best": when the rest of the current bracket cannot finish in the time left,
// the search ends by training the best network at the last rung further, from its weights, for
// as many epochs as the time (and cost) left allow.
#include <cstdint>
#include <optional>

#include "search/budget.h"
#include "search/fidelity.h"
#include "search/search_history.h"
#include "search/trial_plan.h"
#include "space/search_space.h"

namespace nasforge::search {

// Whether the rest of the bracket, from `step` (not yet recorded) on, fits in the time left at
// the finished trials' mean seconds per epoch (true while nothing is measured).
bool bracket_fits_in_time(const SuccessiveHalving& schedule, const SuccessiveHalving::Step& step,
                          const Budget& budget);

// The extension of trial `best` instead of `abandoned`; nothing if not one epoch fits.
std::optional<TrialPlan> plan_extension(std::int64_t best, const SuccessiveHalving& schedule,
                                        const SuccessiveHalving::Step& abandoned,
                                        const SearchHistory& history, const Budget& budget,
                                        const space::SearchSpace& space);

}  // namespace nasforge::search
