#pragma once
// Random draws per trial: each trial's streams are seeded by the experiment's seed, the trial's
// ordinal and the stream, so they are independent of each other and of the controller's, and a
// resumed search draws exactly what an uninterrupted one would.
#include <cstdint>

#include "common/rng.h"

namespace nasforge::search {

enum class TrialStream : std::uint64_t {
  kPbt = 1,     // PBT's exploit/explore
  kSample = 2,  // uniform samples outside the controller (Hyperband's upper brackets)
};

Rng trial_rng(std::uint64_t seed, std::int64_t ordinal, TrialStream stream);

}  // namespace nasforge::search
