#pragma once
// Human-readable tables of a search's trials.
#include <iosfwd>
#include <vector>

#include "store/records.h"

namespace nasforge::search {

void print_trial_table(const std::vector<store::TrialRow>& trials, std::ostream& out);

}  // namespace nasforge::search
