#include "search/distributed_trials.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdio>
#include <thread>
#include <vector>

#include "common/errors.h"
#include "common/log.h"
#include "search/group_dispatcher.h"
#include "search/group_server.h"
#include "trainer/distributed/data_parallel.h"
#include "trainer/distributed/heartbeat.h"
#include "trainer/distributed/pipeline_evaluator.h"
#include "trainer/distributed/store_client.h"

namespace nasforge::search {

namespace dist = trainer::distributed;

namespace {

// The store's keys for the data-parallel trials: rank 0's n-th message of this run, and each
// other rank's note that it read the end of the search.
std::string trial_key(int n) { return "nasforge/follow/trial/" + std::to_string(n); }
std::string ended_key(int rank) { return "nasforge/follow/ended/" + std::to_string(rank); }

std::string seconds(std::chrono::milliseconds duration) {
  if (duration.count() % 1000 == 0) return std::to_string(duration.count() / 1000) + " s";
  char text[32];
  std::snprintf(text, sizeof text, "%.1f s", static_cast<double>(duration.count()) / 1000.0);
  return text;
}

// The n-th message of rank 0, waited for with no deadline while rank 0 beats.
std::string wait_for_trial(dist::StoreClient& store, int n, dist::HeartbeatWatch& master,
                           const std::string& rank, std::chrono::milliseconds timeout,
                           std::chrono::milliseconds poll) {
  const std::string waiting = rank + ": waiting for rank 0's next trial failed: rank 0 ";
  auto checked = std::chrono::steady_clock::now() - dist::kHeartbeatInterval;
  for (;;) {
    dist::HeartbeatWatch::Gone gone;
    try {
      if (auto value = store.try_get(trial_key(n))) return *value;
      if (std::chrono::steady_clock::now() - checked >= dist::kHeartbeatInterval) {
        gone = master.check(store);
        checked = std::chrono::steady_clock::now();
      }
    } catch (const CollectiveError& e) {
      // The store is served by rank 0 (under launch): it died with it.
      throw CollectiveError(waiting + "is gone (" + e.what() + ")");
    }
    if (!gone.left.empty()) {
      throw CollectiveError(waiting + "left without ending the search (see its own error)");
    }
    if (!gone.silent.empty()) {
      throw CollectiveError(waiting + "stopped (no heartbeat for " + seconds(timeout) + ")");
    }
    std::this_thread::sleep_for(poll);
  }
}

}  // namespace

TrialLeader::TrialLeader(dist::DistributedContext& context,
                         std::unique_ptr<dist::StoreClient> store, const space::SearchSpace& space,
                         trainer::Evaluator& evaluator, std::chrono::milliseconds timeout)
    : context_(context),
      store_(std::move(store)),
      space_(space),
      evaluator_(evaluator),
      timeout_(timeout) {
  if (!context.is_main())
    throw InternalError("TrialLeader on rank " + std::to_string(context.rank()));
  if (!store_) throw InternalError("TrialLeader without a store");
}

TrialResult TrialLeader::evaluate(const space::Architecture& arch,
                                  const trainer::TrialContext& context) {
  // Checked before the other ranks are told anything, so that they never start a trial that rank
  // 0 refuses (the search refuses "fidelity.continue" for data-parallel runs up front).
  if (!context.init_weights_path.empty()) {
    throw InternalError("data-parallel trials cannot continue from saved weights");
  }
  const nlohmann::json message = {{"version", 1},
                                  {"architecture", space_.to_json(arch)},
                                  {"trial_id", context.trial_id},
                                  {"seed", context.seed},
                                  {"hparams", context.hparams}};
  store_->set(trial_key(next_++), message.dump());
  return evaluator_.evaluate(arch, context);
}

void TrialLeader::finish() {
  if (finished_) return;
  finished_ = true;
  store_->set(trial_key(next_++), nlohmann::json{{"version", 1}, {"done", true}}.dump());
  // The store lives in rank 0: leaving before the others have read the end would fail them.
  std::vector<int> others;
  for (int r = 1; r < context_.world_size(); ++r) others.push_back(r);
  dist::HeartbeatWatch watch(others, timeout_);
  const auto deadline = std::chrono::steady_clock::now() + timeout_;
  for (;;) {
    // Heartbeats first: a rank notes the end before it stops beating.
    const auto gone = watch.check(*store_);
    std::vector<int> waiting;
    for (int r : others) {
      if (!store_->try_get(ended_key(r))) waiting.push_back(r);
    }
    if (waiting.empty()) return;
    auto is_waiting = [&](int r) {
      return std::find(waiting.begin(), waiting.end(), r) != waiting.end();
    };
    std::string why;
    if (std::any_of(gone.left.begin(), gone.left.end(), is_waiting) ||
        std::any_of(gone.silent.begin(), gone.silent.end(), is_waiting)) {
      why = "stopped";
    } else if (std::chrono::steady_clock::now() > deadline) {
      why = "did not answer within " + seconds(timeout_);
    }
    if (!why.empty()) {
      throw CollectiveError("rank 0 of " + std::to_string(context_.world_size()) +
                            ": ending the search failed: " + dist::describe_ranks(waiting) +
                            " did not read the end (" + why + ")");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

int follow_trials(dist::DistributedContext& context, dist::StoreClient& store,
                  const space::SearchSpace& space, trainer::Evaluator& evaluator,
                  std::chrono::milliseconds timeout, std::chrono::milliseconds poll) {
  const std::string rank = "rank " + std::to_string(context.global_rank()) + " of " +
                           std::to_string(context.world_size());
  dist::HeartbeatWatch master({0}, timeout);
  for (int n = 0;; ++n) {
    const auto message =
        nlohmann::json::parse(wait_for_trial(store, n, master, rank, timeout, poll));
    if (message.at("version").get<int>() != 1) {
      throw InternalError("rank 0 sent a trial message of version " + message.at("version").dump());
    }
    if (message.value("done", false)) {
      store.set(ended_key(context.global_rank()), "1");
      return n;
    }
    trainer::TrialContext trial;
    trial.trial_id = message.at("trial_id").get<std::int64_t>();
    trial.seed = message.at("seed").get<std::uint64_t>();
    trial.hparams = message.at("hparams");
    evaluator.evaluate(space.from_json(message.at("architecture")), trial);
  }
}

namespace {

// What the search loop holds: a call through to the DistributedSearch's evaluator, so that the
// order in which the two are destroyed does not matter.
class Forward final : public trainer::Evaluator {
 public:
  explicit Forward(trainer::Evaluator& target) : target_(target) {}
  std::string type() const override { return target_.type(); }
  TrialResult evaluate(const space::Architecture& arch,
                       const trainer::TrialContext& context) override {
    return target_.evaluate(arch, context);
  }

 private:
  trainer::Evaluator& target_;
};

}  // namespace

DistributedSearch::DistributedSearch(const dist::DistributedOptions& options,
                                     const TrialGroupOptions& groups, c10::Device device,
                                     const space::SearchSpace& space,
                                     std::shared_ptr<const trainer::DataSplits> data,
                                     const trainer::TrainConfig& config,
                                     const std::optional<PipelineParallel>& pipeline)
    : options_(options),
      layout_(options.world_size, groups.group_size > 0 ? groups.group_size : options.world_size),
      groups_(groups),
      pipelined_(pipeline.has_value()),
      space_(space),
      threads_(config.threads),
      world_(std::make_unique<dist::DistributedContext>(options, device)) {
  dist::DistributedContext* trains_on = world_.get();
  if (layout_.groups() > 1) {
    group_ = world_->new_group(layout_.ranks_of(layout_.group_of(options.rank)));
    trains_on = group_.get();
  }
  if (pipeline) {
    dist::PipelineTraining stages;
    stages.micro_batches = pipeline->micro_batches;
    stages.balance = dist::parse_stage_balance(pipeline->balance);
    auto ranks = dist::PipelineRanks::whole(*trains_on);
    if (pipeline->stages > 0 && pipeline->stages < layout_.group_size()) {
      auto groups = dist::make_pipeline_groups(
          *world_, layout_.ranks_of(layout_.group_of(options.rank)), pipeline->stages);
      pipeline_stages_ = std::move(groups.stages);
      pipeline_replicas_ = std::move(groups.replicas);
      ranks.stages = pipeline_stages_.get();
      ranks.replicas = pipeline_replicas_.get();
    }
    stages_ = ranks.stages->world_size();
    evaluator_ =
        std::make_unique<dist::PipelineEvaluator>(ranks, space, std::move(data), config, stages);
  } else {
    evaluator_ =
        std::make_unique<dist::DataParallelEvaluator>(*trains_on, space, std::move(data), config);
  }
}

DistributedSearch::~DistributedSearch() {
  stopping_ = true;
  if (own_group_.joinable()) own_group_.join();
}

std::string DistributedSearch::describe() const {
  std::string each = "data-parallel";
  if (pipelined_) {
    const int replicas = layout_.group_size() / stages_;
    each = "pipeline of " + std::to_string(stages_) + " stages";
    if (replicas > 1) each.append(" x " + std::to_string(replicas) + " replicas");
  }
  if (layout_.groups() == 1) {
    return each + " over " + std::to_string(options_.world_size) + " ranks";
  }
  return std::to_string(options_.world_size) + " ranks as " + std::to_string(layout_.groups()) +
         " trial groups of " + std::to_string(layout_.group_size()) + " (each a " + each + ")";
}

void DistributedSearch::serve() {
  if (is_master()) throw InternalError("DistributedSearch::serve on rank 0");
  if (threads_ > 0) at::set_num_threads(threads_);
  if (!group_) {
    auto store =
        dist::StoreClient::connect(options_.master_addr, options_.master_port, options_.timeout);
    follow_trials(*world_, *store, space_, *evaluator_, options_.timeout);
    return;
  }
  auto store =
      dist::StoreClient::connect(options_.master_addr, options_.master_port, options_.timeout);
  serve_group(*group_, layout_.group_of(options_.rank), *store, space_, *evaluator_);
}

std::unique_ptr<trainer::Evaluator> DistributedSearch::master_evaluator() {
  if (!is_master()) throw InternalError("DistributedSearch::master_evaluator on a rank > 0");
  if (!group_) {
    // Rank 0 trains on the search loop's thread (one worker slot).
    if (threads_ > 0) at::set_num_threads(threads_);
    leader_ = std::make_unique<TrialLeader>(
        *world_,
        dist::StoreClient::connect(options_.master_addr, options_.master_port, options_.timeout),
        space_, *evaluator_, options_.timeout);
    return std::make_unique<Forward>(*leader_);
  }
  dispatcher_ = std::make_unique<GroupDispatcher>(
      dist::StoreClient::connect(options_.master_addr, options_.master_port, options_.timeout),
      layout_, groups_, space_);
  auto store =
      dist::StoreClient::connect(options_.master_addr, options_.master_port, options_.timeout);
  own_group_ = std::thread([this, store = std::shared_ptr(std::move(store))] {
    if (threads_ > 0) at::set_num_threads(threads_);
    try {
      serve_group(*group_, 0, *store, space_, *evaluator_, &stopping_);
    } catch (const std::exception& e) {
      // The master goes on with the other groups; the dispatcher has seen the group break.
      log::warn(std::string("trial group 0 stopped: ") + e.what());
    }
  });
  return std::make_unique<Forward>(*dispatcher_);
}

void DistributedSearch::finish() {
  if (leader_) leader_->finish();
  if (dispatcher_) dispatcher_->finish();
  if (own_group_.joinable()) own_group_.join();
}

}  // namespace nasforge::search
