#pragma once
// A search on several ranks (the environment of `nasforge launch`, torchrun or srun). Rank 0 owns
// the controller and the store. With trial groups (TrialGroupOptions::group_size below the world)
// the ranks form groups that each train one trial data-parallel, handed out by rank 0's
// GroupDispatcher (search/group_dispatcher.h); otherwise one trial at a time is trained over all
// ranks: rank 0's TrialLeader sends it to the others, which follow_trials().
#include <atomic>
#include <chrono>
#include <exception>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "search/parallel_options.h"
#include "search/trial_groups.h"
#include "space/search_space.h"
#include "trainer/dataset.h"
#include "trainer/distributed/process_group.h"
#include "trainer/distributed/store_client.h"
#include "trainer/evaluator.h"
#include "trainer/train_config.h"

namespace nasforge::search {

class GroupDispatcher;

// Rank 0's evaluator when all ranks train each trial: sends the trial (architecture JSON, seed,
// hparams) to the other ranks, then evaluates it with them. The messages go through the job's
// store (`store`, a connection of rank 0's own), one key per trial, not through a collective: the
// other ranks wait for the next trial for as long as rank 0 needs between trials (recording the
// result, a database locked by another process, the controller), not just the collective timeout.
class TrialLeader final : public trainer::Evaluator {
 public:
  // `timeout`: how long finish() waits for the other ranks to read the end of the search.
  TrialLeader(trainer::distributed::DistributedContext& context,
              std::unique_ptr<trainer::distributed::StoreClient> store,
              const space::SearchSpace& space, trainer::Evaluator& evaluator,
              std::chrono::milliseconds timeout);
  std::string type() const override { return "train"; }
  TrialResult evaluate(const space::Architecture& arch,
                       const trainer::TrialContext& context) override;
  // Tells the followers that the search is over and waits (at most the timeout) until each has
  // read it, since the store may live in rank 0 (idempotent). CollectiveError naming the ranks that
  // did not. Not called on destruction: after a failure the peers stop on their own, and the
  // context may be gone already.
  void finish();

 private:
  trainer::distributed::DistributedContext& context_;
  std::unique_ptr<trainer::distributed::StoreClient> store_;
  const space::SearchSpace& space_;
  trainer::Evaluator& evaluator_;
  std::chrono::milliseconds timeout_;
  int next_ = 0;  // the number of the next message
  bool finished_ = false;
};

// Ranks > 0: evaluates the trials rank 0 sends until it finishes; returns how many. Waits for each
// with no deadline while rank 0 is alive (polling `store` every `poll` and rank 0's heartbeat);
// CollectiveError naming rank 0 when its store no longer answers, it left without ending the
// search, or its heartbeat stood still for `timeout`.
int follow_trials(trainer::distributed::DistributedContext& context,
                  trainer::distributed::StoreClient& store, const space::SearchSpace& space,
                  trainer::Evaluator& evaluator, std::chrono::milliseconds timeout,
                  std::chrono::milliseconds poll = std::chrono::milliseconds(20));

// One rank's part of a distributed search.
class DistributedSearch {
 public:
  // Joins the job (every rank), and with trial groups, this rank's group.
  DistributedSearch(const trainer::distributed::DistributedOptions& options,
                    const TrialGroupOptions& groups, c10::Device device,
                    const space::SearchSpace& space,
                    std::shared_ptr<const trainer::DataSplits> data,
                    const trainer::TrainConfig& config,
                    const std::optional<PipelineParallel>& pipeline = std::nullopt);
  ~DistributedSearch();  // rank 0: stops its own group's thread (after its epoch) and joins it
  DistributedSearch(const DistributedSearch&) = delete;
  DistributedSearch& operator=(const DistributedSearch&) = delete;

  bool is_master() const { return world_->is_main(); }
  // How many trials rank 0's search loop keeps in flight: one per group.
  int trials_at_once() const { return layout_.groups(); }
  // "data-parallel over 2 ranks", "4 ranks as 2 trial groups of 2 (each a data-parallel)" or
  // "pipeline of 2 stages over 2 ranks".
  std::string describe() const;

  // Ranks > 0: trains what rank 0 sends until the search is over. CollectiveError when this
  // rank's group breaks (naming the rank that died) or rank 0 is gone.
  void serve();
  // Rank 0: the search loop's evaluator (it refers to this object, which must outlive its calls;
  // destroying it later is harmless). With groups, rank 0's own group starts serving on a thread.
  std::unique_ptr<trainer::Evaluator> master_evaluator();
  // Rank 0, after the loop: tells every other rank that the search is over.
  void finish();

 private:
  trainer::distributed::DistributedOptions options_;
  GroupLayout layout_;
  TrialGroupOptions groups_;
  bool pipelined_;
  const space::SearchSpace& space_;
  int threads_;  // the training config's intra-op threads (0: LibTorch's default)
  std::unique_ptr<trainer::distributed::DistributedContext> world_;
  std::unique_ptr<trainer::distributed::DistributedContext> group_;  // null without groups
  // With pipeline replicas: this rank's pipeline and its stage's replicas; null otherwise.
  std::unique_ptr<trainer::distributed::DistributedContext> pipeline_stages_;
  std::unique_ptr<trainer::distributed::DistributedContext> pipeline_replicas_;
  int stages_ = 0;                                 // pipeline stages per replica (0: data-parallel)
  std::unique_ptr<trainer::Evaluator> evaluator_;  // data-parallel or pipeline stages
  std::unique_ptr<TrialLeader> leader_;
  std::unique_ptr<GroupDispatcher> dispatcher_;
  std::atomic<bool> stopping_{false};
  std::thread own_group_;  // rank 0 serving its group, beside the master
};

}  // namespace nasforge::search
