#include "controllers/local_search.h"

#include <algorithm>

#include "common/errors.h"
#include "common/json_config.h"
#include "controllers/neighbours.h"

namespace nasforge::controllers {

namespace cfg = nasforge::config;

namespace {

nlohmann::json member_json(const std::optional<LocalSearch::Member>& m) {
  if (!m) return nullptr;
  return {{"choices", m->arch.choices()}, {"reward", m->reward}};
}

std::optional<LocalSearch::Member> member_from(const nlohmann::json& j,
                                               const space::SearchSpace& space) {
  if (j.is_null()) return std::nullopt;
  return LocalSearch::Member{space.make(j.at("choices").get<std::vector<int>>()),
                             j.at("reward").get<double>()};
}

}  // namespace

LocalSearchOptions LocalSearchOptions::from_json(const nlohmann::json& config,
                                                 const std::string& where) {
  cfg::require_object(config, where);
  cfg::reject_unknown_keys(config, where, {"type", "init", "move", "unique"});
  LocalSearchOptions o;
  o.init =
      cfg::in_range(cfg::optional<int>(config, "init", where, o.init), 1, 100000, where + ".init");
  const auto move =
      cfg::optional<std::string>(config, "move", where, o.first_improvement ? "first" : "best");
  if (move != "best" && move != "first") {
    throw ConfigError(where + ".move: unknown move '" + move + "'; expected best or first");
  }
  o.first_improvement = move == "first";
  o.unique = cfg::optional<bool>(config, "unique", where, o.unique);
  return o;
}

nlohmann::json LocalSearchOptions::to_json() const {
  return {{"init", init}, {"move", first_improvement ? "first" : "best"}, {"unique", unique}};
}

LocalSearch::LocalSearch(const space::SearchSpace& space, std::uint64_t seed,
                         LocalSearchOptions options)
    : space_(space), options_(options), rng_(seed) {}

std::unique_ptr<Controller> LocalSearch::from_config(const nlohmann::json& config,
                                                     const space::SearchSpace& space,
                                                     std::uint64_t seed, const std::string& where) {
  return std::make_unique<LocalSearch>(space, seed, LocalSearchOptions::from_json(config, where));
}

space::Architecture LocalSearch::random_architecture() {
  auto arch = space_.random(rng_);
  for (int attempt = 1;
       options_.unique && visited_.count(arch.canonical()) && attempt < kMaxAttempts; ++attempt) {
    arch = space_.random(rng_);
  }
  return arch;
}

void LocalSearch::climb_from(Member m) {
  auto candidates = neighbours(space_, m.arch);
  incumbent_ = std::move(m);
  best_neighbour_.reset();
  ++generation_;
  queue_.clear();
  const int n = static_cast<int>(candidates.size());
  for (int i : rng_.sample_without_replacement(n, n)) {
    auto& c = candidates[static_cast<size_t>(i)];
    if (!options_.unique || !visited_.count(c.canonical())) queue_.push_back(std::move(c));
  }
  finish_neighbourhood_if_done();
}

void LocalSearch::finish_neighbourhood_if_done() {
  if (!incumbent_) return;
  if (options_.unique) {
    // A queued neighbour may have been proposed since as a random architecture.
    while (!queue_.empty() && visited_.count(queue_.front().canonical())) queue_.pop_front();
  }
  if (!queue_.empty()) return;
  for (const auto& p : pending_) {
    if (p.neighbour && p.generation == generation_) return;  // results still to come
  }
  if (best_neighbour_) {
    ++moves_;
    Member next = *std::move(best_neighbour_);
    best_neighbour_.reset();
    climb_from(std::move(next));
    return;
  }
  // A local optimum: start again from random architectures.
  ++restarts_;
  ++generation_;
  incumbent_.reset();
  best_sampled_.reset();
  sampled_ = 0;
}

space::Architecture LocalSearch::propose() {
  finish_neighbourhood_if_done();
  ++proposals_;
  if (incumbent_ && !queue_.empty()) {
    auto arch = queue_.front();
    queue_.pop_front();
    visited_.insert(arch.canonical());
    pending_.push_back({arch, generation_, true});
    return arch;
  }
  // Sampling a (re)start, or waiting for the last neighbours' results.
  auto arch = random_architecture();
  visited_.insert(arch.canonical());
  pending_.push_back({arch, generation_, false});
  return arch;
}

void LocalSearch::observe(const space::Architecture& arch, double reward, bool failed) {
  ++observations_;
  if (failed) ++failures_;
  Pending entry{arch, generation_, false};
  auto it = std::find_if(pending_.begin(), pending_.end(),
                         [&](const Pending& p) { return p.arch == arch; });
  if (it != pending_.end()) {
    entry = *it;
    pending_.erase(it);
  }
  if (!incumbent_) {
    if (!entry.neighbour) {
      if (!failed && (!best_sampled_ || reward > best_sampled_->reward)) {
        best_sampled_ = Member{arch, reward};
      }
      if (++sampled_ >= options_.init && best_sampled_) {
        Member start = *std::move(best_sampled_);
        best_sampled_.reset();
        climb_from(std::move(start));
      }
    }
    return;
  }
  if (entry.neighbour && entry.generation == generation_ && !failed &&
      reward > incumbent_->reward) {
    if (options_.first_improvement) {
      ++moves_;
      climb_from({arch, reward});
      return;
    }
    if (!best_neighbour_ || reward > best_neighbour_->reward)
      best_neighbour_ = Member{arch, reward};
  }
  finish_neighbourhood_if_done();
}

nlohmann::json LocalSearch::state() const {
  nlohmann::json queue = nlohmann::json::array();
  for (const auto& a : queue_) queue.push_back(a.choices());
  nlohmann::json pending = nlohmann::json::array();
  for (const auto& p : pending_) {
    pending.push_back(
        {{"choices", p.arch.choices()}, {"generation", p.generation}, {"neighbour", p.neighbour}});
  }
  std::vector<std::string> visited(visited_.begin(), visited_.end());
  std::sort(visited.begin(), visited.end());  // stable bytes for equal states
  return {{"type", kType},
          {"version", 1},
          {"options", options_.to_json()},
          {"rng", rng_.state()},
          {"incumbent", member_json(incumbent_)},
          {"best_neighbour", member_json(best_neighbour_)},
          {"best_sampled", member_json(best_sampled_)},
          {"sampled", sampled_},
          {"generation", generation_},
          {"queue", queue},
          {"pending", pending},
          {"visited", visited},
          {"proposals", proposals_},
          {"observations", observations_},
          {"failures", failures_},
          {"moves", moves_},
          {"restarts", restarts_}};
}

void LocalSearch::load_state(const nlohmann::json& state) {
  if (state.value("type", "") != kType) {
    throw StoreError("controller state is for '" + state.value("type", "?") + "', not " + kType);
  }
  if (state.value("version", 0) != 1) {
    throw StoreError("local_search controller state: unsupported version " +
                     state.value("version", nlohmann::json()).dump());
  }
  try {
    auto incumbent = member_from(state.at("incumbent"), space_);
    auto best_neighbour = member_from(state.at("best_neighbour"), space_);
    auto best_sampled = member_from(state.at("best_sampled"), space_);
    std::deque<space::Architecture> queue;
    for (const auto& c : state.at("queue")) queue.push_back(space_.make(c.get<std::vector<int>>()));
    std::vector<Pending> pending;
    for (const auto& p : state.at("pending")) {
      pending.push_back({space_.make(p.at("choices").get<std::vector<int>>()),
                         p.at("generation").get<long>(), p.at("neighbour").get<bool>()});
    }
    std::unordered_set<std::string> visited;
    for (const auto& s : state.at("visited")) visited.insert(s.get<std::string>());
    rng_.load_state(state.at("rng").get<std::string>());
    incumbent_ = std::move(incumbent);
    best_neighbour_ = std::move(best_neighbour);
    best_sampled_ = std::move(best_sampled);
    sampled_ = state.at("sampled").get<int>();
    generation_ = state.at("generation").get<long>();
    queue_ = std::move(queue);
    pending_ = std::move(pending);
    visited_ = std::move(visited);
    proposals_ = state.at("proposals").get<long>();
    observations_ = state.at("observations").get<long>();
    failures_ = state.at("failures").get<long>();
    moves_ = state.at("moves").get<long>();
    restarts_ = state.at("restarts").get<long>();
  } catch (const nlohmann::json::exception& e) {
    throw StoreError(std::string("local_search controller state is malformed: ") + e.what());
  } catch (const ConfigError& e) {
    throw StoreError(std::string("local_search controller state does not fit this space: ") +
                     e.what());
  }
}

}  // namespace nasforge::controllers
