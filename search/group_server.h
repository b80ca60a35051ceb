#pragma once
// A trial group's side of the trial protocol (search/trial_groups.h). Every rank of the group
// reads the master's assignments from the store itself (so a group may wait for its next trial
// as long as the search needs, with no collective pending) and trains it with the others; the
// group's first rank relays each epoch to the master, waits for its go-on decision (which the
// data-parallel evaluator broadcasts to the group), and posts the result.
#include <atomic>
#include <chrono>

#include "search/trial_groups.h"
#include "space/search_space.h"
#include "trainer/distributed/process_group.h"
#include "trainer/distributed/store_client.h"
#include "trainer/evaluator.h"

namespace nasforge::search {

// Serves group `group` until the master says the search is over; returns how many trials it
// trained. `context` is the group's subgroup (its rank 0 leads). A collective that fails (a rank
// of the group died) marks the group broken in the store, so that the master gives its trial to
// another group, and goes through as CollectiveError naming the dead rank; so does a store that
// no longer answers (rank 0, the master, died). Any other error marks it broken too. `stop` (rank
// 0's own group) ends the wait for the master's next message with an Error.
int serve_group(trainer::distributed::DistributedContext& context, int group,
                trainer::distributed::StoreClient& store, const space::SearchSpace& space,
                trainer::Evaluator& evaluator, const std::atomic<bool>* stop = nullptr,
                std::chrono::milliseconds poll = std::chrono::milliseconds(20));

}  // namespace nasforge::search
