#include "controllers/evolution.h"

#include <algorithm>

#include "common/errors.h"
#include "common/json_config.h"

namespace nasforge::controllers {

namespace cfg = nasforge::config;

EvolutionOptions EvolutionOptions::from_json(const nlohmann::json& config,
                                             const std::string& where) {
  cfg::require_object(config, where);
  cfg::reject_unknown_keys(config, where, {"type", "population", "sample", "crossover", "unique"});
  EvolutionOptions o;
  o.population = cfg::in_range(cfg::optional<int>(config, "population", where, o.population), 2,
                               100000, where + ".population");
  o.sample = cfg::in_range(cfg::optional<int>(config, "sample", where, o.sample), 1, o.population,
                           where + ".sample");
  o.crossover = cfg::in_range(cfg::optional<double>(config, "crossover", where, o.crossover), 0.0,
                              1.0, where + ".crossover");
  o.unique = cfg::optional<bool>(config, "unique", where, o.unique);
  return o;
}

nlohmann::json EvolutionOptions::to_json() const {
  return {
      {"population", population}, {"sample", sample}, {"crossover", crossover}, {"unique", unique}};
}

RegularizedEvolution::RegularizedEvolution(const space::SearchSpace& space, std::uint64_t seed,
                                           EvolutionOptions options)
    : space_(space), options_(options), rng_(seed) {}

std::unique_ptr<Controller> RegularizedEvolution::from_config(const nlohmann::json& config,
                                                              const space::SearchSpace& space,
                                                              std::uint64_t seed,
                                                              const std::string& where) {
  return std::make_unique<RegularizedEvolution>(space, seed,
                                                EvolutionOptions::from_json(config, where));
}

const RegularizedEvolution::Member& RegularizedEvolution::tournament() {
  const int n = static_cast<int>(population_.size());
  const Member* best = nullptr;
  for (int i : rng_.sample_without_replacement(n, std::min(options_.sample, n))) {
    const Member& m = population_[static_cast<size_t>(i)];
    if (best == nullptr || m.reward > best->reward) best = &m;
  }
  return *best;
}

space::Architecture RegularizedEvolution::candidate() {
  // Until the population is full (counting trials still running), explore at random.
  const size_t filled = population_.size() + pending_.size();
  if (population_.empty() || filled < static_cast<size_t>(options_.population)) {
    return space_.random(rng_);
  }
  const Member& parent = tournament();
  if (options_.crossover > 0 && population_.size() >= 2 && rng_.uniform() < options_.crossover) {
    const Member& other = tournament();
    return space_.mutate(space_.crossover(parent.arch, other.arch, rng_), rng_);
  }
  return space_.mutate(parent.arch, rng_);
}

space::Architecture RegularizedEvolution::propose() {
  auto arch = candidate();
  for (int attempt = 1;
       options_.unique && proposed_.count(arch.canonical()) && attempt < kMaxAttempts; ++attempt) {
    arch = candidate();
  }
  if (options_.unique) proposed_.insert(arch.canonical());
  pending_.push_back(arch);
  ++proposals_;
  return arch;
}

void RegularizedEvolution::observe(const space::Architecture& arch, double reward, bool failed) {
  ++observations_;
  auto it = std::find(pending_.begin(), pending_.end(), arch);
  if (it != pending_.end()) pending_.erase(it);
  if (failed) {
    ++failures_;
    return;
  }
  population_.push_back({arch, reward, observations_});
  while (population_.size() > static_cast<size_t>(options_.population)) population_.pop_front();
}

nlohmann::json RegularizedEvolution::state() const {
  nlohmann::json population = nlohmann::json::array();
  for (const auto& m : population_) {
    population.push_back({{"choices", m.arch.choices()}, {"reward", m.reward}, {"born", m.born}});
  }
  nlohmann::json pending = nlohmann::json::array();
  for (const auto& a : pending_) pending.push_back(a.choices());
  std::vector<std::string> proposed(proposed_.begin(), proposed_.end());
  std::sort(proposed.begin(), proposed.end());  // stable bytes for equal states
  return {{"type", kType},
          {"version", 1},
          {"options", options_.to_json()},
          {"rng", rng_.state()},
          {"population", population},
          {"pending", pending},
          {"proposed", proposed},
          {"proposals", proposals_},
          {"observations", observations_},
          {"failures", failures_}};
}

void RegularizedEvolution::load_state(const nlohmann::json& state) {
  if (state.value("type", "") != kType) {
    throw StoreError("controller state is for '" + state.value("type", "?") + "', not " + kType);
  }
  if (state.value("version", 0) != 1) {
    throw StoreError("evolution controller state: unsupported version " +
                     state.value("version", nlohmann::json()).dump());
  }
  try {
    std::deque<Member> population;
    for (const auto& m : state.at("population")) {
      population.push_back({space_.make(m.at("choices").get<std::vector<int>>()),
                            m.at("reward").get<double>(), m.at("born").get<long>()});
    }
    std::vector<space::Architecture> pending;
    for (const auto& c : state.at("pending"))
      pending.push_back(space_.make(c.get<std::vector<int>>()));
    std::unordered_set<std::string> proposed;
    for (const auto& s : state.at("proposed")) proposed.insert(s.get<std::string>());
    rng_.load_state(state.at("rng").get<std::string>());
    population_ = std::move(population);
    pending_ = std::move(pending);
    proposed_ = std::move(proposed);
    proposals_ = state.at("proposals").get<long>();
    observations_ = state.at("observations").get<long>();
    failures_ = state.at("failures").get<long>();
  } catch (const nlohmann::json::exception& e) {
    throw StoreError(std::string("evolution controller state is malformed: ") + e.what());
  } catch (const ConfigError& e) {
    throw StoreError(std::string("evolution controller state does not fit this space: ") +
                     e.what());
  }
}

}  // namespace nasforge::controllers
