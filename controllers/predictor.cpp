#include "controllers/predictor.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <numeric>
#include <sstream>

#include <torch/csrc/autograd/grad_mode.h>
#include <torch/serialize.h>

#include "common/errors.h"
#include "common/json_config.h"
#include "controllers/arch_encoding.h"
#include "controllers/mlp_ensemble.h"
#include "controllers/neighbours.h"

namespace nasforge::controllers {

namespace cfg = nasforge::config;

namespace detail {
struct Predictor {
  explicit Predictor(MlpEnsemble e) : ensemble(std::move(e)) {}
  MlpEnsemble ensemble;
};
}  // namespace detail

namespace {

constexpr std::pair<const char*, PredictorOptions::Acquisition> kAcquisitions[] = {
    {"its", PredictorOptions::Acquisition::kThompson},
    {"ei", PredictorOptions::Acquisition::kExpectedImprovement},
    {"mean", PredictorOptions::Acquisition::kMean},
};

nlohmann::json to_binary(const std::string& bytes) {
  return nlohmann::json::binary(std::vector<std::uint8_t>(bytes.begin(), bytes.end()));
}

std::string from_binary(const nlohmann::json& j) {
  const auto& bytes = j.get_binary();
  return std::string(bytes.begin(), bytes.end());
}

torch::Tensor encode(const space::SearchSpace& space,
                     const std::vector<space::Architecture>& archs) {
  std::vector<float> values;
  const int width = one_hot_size(space);
  values.reserve(archs.size() * static_cast<size_t>(width));
  for (const auto& a : archs) append_one_hot(space, a, values);
  return torch::from_blob(values.data(), {static_cast<int64_t>(archs.size()), width},
                          torch::kFloat32)
      .clone();
}

// A standard normal draw (Box-Muller) from `rng`.
double normal(Rng& rng) {
  const double u = 1.0 - rng.uniform();  // (0, 1]
  return std::sqrt(-2.0 * std::log(u)) * std::cos(2.0 * std::numbers::pi * rng.uniform());
}

// The logarithm of the expected improvement over `best` of a normal(mean, sd). Far below `best`
// EI underflows to 0 for every candidate (the ensemble agrees closely once it has seen a hundred
// results), and the choice would fall to the first candidate; in logs the ranking survives
// (there EI ~ sd * pdf(z) / z^2 * (1 - 3 / z^2), z = (mean - best) / sd).
double log_expected_improvement(double mean, double sd, double best) {
  sd = std::max(sd, 1e-9);
  const double z = (mean - best) / sd;
  if (z > -5) {
    const double cdf = 0.5 * std::erfc(-z / std::sqrt(2.0));
    const double pdf = std::exp(-0.5 * z * z) / std::sqrt(2.0 * std::numbers::pi);
    return std::log(sd) + std::log(z * cdf + pdf);
  }
  return std::log(sd) - 0.5 * z * z - 0.5 * std::log(2.0 * std::numbers::pi) - 2.0 * std::log(-z) +
         std::log1p(-3.0 / (z * z));
}

}  // namespace

PredictorOptions PredictorOptions::from_json(const nlohmann::json& config,
                                             const std::string& where) {
  cfg::require_object(config, where);
  cfg::reject_unknown_keys(config, where,
                           {"type", "warmup", "retrain_every", "ensemble", "hidden_size", "layers",
                            "steps", "learning_rate", "parents", "mutations", "random_candidates",
                            "floor_quantile", "parent_distance", "patience", "acquisition"});
  PredictorOptions o;
  auto int_option = [&](const char* key, int value, int lo, int hi) {
    return cfg::in_range(cfg::optional<int>(config, key, where, value), lo, hi, where + "." + key);
  };
  o.warmup = int_option("warmup", o.warmup, 1, 1000000);
  o.retrain_every = int_option("retrain_every", o.retrain_every, 1, 1000000);
  o.ensemble = int_option("ensemble", o.ensemble, 1, 100);
  o.hidden_size = int_option("hidden_size", o.hidden_size, 1, 4096);
  o.layers = int_option("layers", o.layers, 1, 16);
  o.steps = int_option("steps", o.steps, 1, 100000);
  o.learning_rate =
      cfg::in_range(cfg::optional<double>(config, "learning_rate", where, o.learning_rate), 1e-8,
                    10.0, where + ".learning_rate");
  o.parents = int_option("parents", o.parents, 1, 10000);
  o.mutations = int_option("mutations", o.mutations, 0, 1000000);
  o.random_candidates = int_option("random_candidates", o.random_candidates, 0, 1000000);
  o.floor_quantile =
      cfg::in_range(cfg::optional<double>(config, "floor_quantile", where, o.floor_quantile), 0.0,
                    1.0, where + ".floor_quantile");
  o.parent_distance = int_option("parent_distance", o.parent_distance, 1, 1000);
  o.patience = int_option("patience", o.patience, 0, 1000000);
  const auto acquisition = cfg::optional<std::string>(config, "acquisition", where, "ei");
  bool known = false;
  for (const auto& [name, value] : kAcquisitions) {
    if (acquisition == name) {
      o.acquisition = value;
      known = true;
    }
  }
  if (!known) {
    throw ConfigError(where + ".acquisition: unknown acquisition '" + acquisition +
                      "'; expected its, ei or mean");
  }
  return o;
}

nlohmann::json PredictorOptions::to_json() const {
  std::string acquisition_name;
  for (const auto& [name, value] : kAcquisitions) {
    if (acquisition == value) acquisition_name = name;
  }
  return {{"warmup", warmup},
          {"retrain_every", retrain_every},
          {"ensemble", ensemble},
          {"hidden_size", hidden_size},
          {"layers", layers},
          {"steps", steps},
          {"learning_rate", learning_rate},
          {"parents", parents},
          {"mutations", mutations},
          {"random_candidates", random_candidates},
          {"floor_quantile", floor_quantile},
          {"parent_distance", parent_distance},
          {"patience", patience},
          {"acquisition", acquisition_name}};
}

PredictorSearch::PredictorSearch(const space::SearchSpace& space, std::uint64_t seed,
                                 PredictorOptions options)
    : space_(space), options_(options), rng_(seed) {
  predictor_ = std::make_unique<detail::Predictor>(
      MlpEnsemble(options_.ensemble, one_hot_size(space_),
                  std::vector<int>(static_cast<size_t>(options_.layers), options_.hidden_size)));
}

PredictorSearch::~PredictorSearch() = default;

std::unique_ptr<Controller> PredictorSearch::from_config(const nlohmann::json& config,
                                                         const space::SearchSpace& space,
                                                         std::uint64_t seed,
                                                         const std::string& where) {
  return std::make_unique<PredictorSearch>(space, seed, PredictorOptions::from_json(config, where));
}

space::Architecture PredictorSearch::random_unvisited() {
  auto arch = space_.random(rng_);
  for (int attempt = 1; visited_.count(arch.canonical()) && attempt < kMaxAttempts; ++attempt) {
    arch = space_.random(rng_);
  }
  return arch;
}

void PredictorSearch::fit() {
  std::vector<space::Architecture> archs;
  std::vector<float> rewards;
  for (const auto& r : results_) {
    if (r.failed) continue;
    archs.push_back(r.arch);
    rewards.push_back(static_cast<float>(r.reward));
  }
  if (options_.floor_quantile > 0) {
    auto sorted = rewards;
    std::sort(sorted.begin(), sorted.end());
    const float floor = sorted[static_cast<size_t>(options_.floor_quantile *
                                                   static_cast<double>(sorted.size() - 1))];
    for (auto& r : rewards) r = std::max(r, floor);
  }
  const double n = static_cast<double>(rewards.size());
  reward_mean_ = std::accumulate(rewards.begin(), rewards.end(), 0.0) / n;
  double var = 0;
  for (float r : rewards) var += (r - reward_mean_) * (r - reward_mean_) / n;
  reward_std_ = std::max(std::sqrt(var), 1e-6);
  auto y = torch::from_blob(rewards.data(), {static_cast<int64_t>(rewards.size())}, torch::kFloat32)
               .clone();
  y = (y - reward_mean_) / reward_std_;
  predictor_->ensemble->reset_parameters(rng_);
  FitOptions fit_options;
  fit_options.steps = options_.steps;
  fit_options.learning_rate = options_.learning_rate;
  controllers::fit(predictor_->ensemble, encode(space_, archs), y, fit_options);
  trained_ = true;
  trained_on_ = static_cast<long>(results_.size());
  ++fits_;
}

std::vector<space::Architecture> PredictorSearch::candidates() {
  std::vector<const Result*> ranked;
  for (size_t i = static_cast<size_t>(restart_at_); i < results_.size(); ++i) {
    if (!results_[i].failed) ranked.push_back(&results_[i]);
  }
  // Best first; among equals, the earlier result.
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const Result* a, const Result* b) { return a->reward > b->reward; });
  std::vector<const Result*> parents;
  auto distance = [](const space::Architecture& a, const space::Architecture& b) {
    int d = 0;
    for (size_t i = 0; i < a.choices().size(); ++i) d += a.choices()[i] != b.choices()[i] ? 1 : 0;
    return d;
  };
  for (const auto* r : ranked) {
    if (parents.size() >= static_cast<size_t>(options_.parents)) break;
    bool far = true;
    for (const auto* p : parents)
      far = far && distance(r->arch, p->arch) >= options_.parent_distance;
    if (far) parents.push_back(r);
  }
  ranked = std::move(parents);
  std::vector<space::Architecture> out;
  std::unordered_set<std::string> seen;
  auto add = [&](space::Architecture a) {
    if (!visited_.count(a.canonical()) && seen.insert(a.canonical()).second) {
      out.push_back(std::move(a));
    }
  };
  for (const auto* parent : ranked) {
    for (auto& n : neighbours(space_, parent->arch)) add(std::move(n));
  }
  for (int i = 0; i < options_.mutations && !ranked.empty(); ++i) {
    const auto& parent =
        ranked[static_cast<size_t>(rng_.uniform_int(static_cast<int>(ranked.size())))];
    add(space_.mutate(space_.mutate(parent->arch, rng_), rng_));
  }
  for (int i = 0; i < options_.random_candidates; ++i) add(space_.random(rng_));
  return out;
}

std::vector<double> PredictorSearch::predict(const std::vector<space::Architecture>& archs) const {
  if (!trained_) throw InternalError("predictor: predict() before the first fit");
  torch::NoGradGuard no_grad;
  const auto mean =
      predictor_->ensemble->forward(encode(space_, archs)).mean(0).to(torch::kFloat64);
  std::vector<double> out(archs.size());
  for (size_t i = 0; i < archs.size(); ++i) {
    out[i] = reward_mean_ + reward_std_ * mean[static_cast<int64_t>(i)].item<double>();
  }
  return out;
}

space::Architecture PredictorSearch::propose() {
  ++proposals_;
  long successes = 0;
  for (const auto& r : results_) successes += r.failed ? 0 : 1;
  auto take = [this](space::Architecture a) {
    visited_.insert(a.canonical());
    return a;
  };
  if (successes < options_.warmup) return take(random_unvisited());
  if (options_.patience > 0) {
    // The first result that reached the best since the last restart.
    long best_at = -1;
    for (long i = restart_at_; i < static_cast<long>(results_.size()); ++i) {
      const auto& r = results_[static_cast<size_t>(i)];
      if (!r.failed && (best_at < 0 || r.reward > results_[static_cast<size_t>(best_at)].reward)) {
        best_at = i;
      }
    }
    if (best_at >= 0 && static_cast<long>(results_.size()) - 1 - best_at >= options_.patience) {
      restart_at_ = static_cast<long>(results_.size());
      ++restarts_;
    }
  }
  if (!trained_ || static_cast<long>(results_.size()) - trained_on_ >= options_.retrain_every) {
    fit();
  }
  auto pool = candidates();
  if (pool.empty()) return take(random_unvisited());

  torch::NoGradGuard no_grad;
  const auto predictions = predictor_->ensemble->forward(encode(space_, pool));  // [E, C]
  const auto mean = predictions.mean(0).to(torch::kFloat64).contiguous();
  const auto sd = options_.ensemble > 1
                      ? predictions.std(0, /*unbiased=*/false).to(torch::kFloat64).contiguous()
                      : torch::zeros_like(mean);
  const double* m = mean.data_ptr<double>();
  const double* s = sd.data_ptr<double>();
  double best_seen = -1e300;
  for (const auto& r : results_) {
    if (!r.failed) best_seen = std::max(best_seen, (r.reward - reward_mean_) / reward_std_);
  }
  size_t chosen = 0;
  double chosen_score = -1e300;
  for (size_t c = 0; c < pool.size(); ++c) {
    double score = m[c];
    switch (options_.acquisition) {
      case PredictorOptions::Acquisition::kThompson:
        score = m[c] + s[c] * normal(rng_);
        break;
      case PredictorOptions::Acquisition::kExpectedImprovement:
        score = log_expected_improvement(m[c], s[c], best_seen);
        break;
      case PredictorOptions::Acquisition::kMean:
        break;
    }
    if (score > chosen_score) {
      chosen_score = score;
      chosen = c;
    }
  }
  return take(std::move(pool[chosen]));
}

void PredictorSearch::observe(const space::Architecture& arch, double reward, bool failed) {
  visited_.insert(arch.canonical());
  results_.push_back({arch, failed ? 0.0 : reward, failed});
}

nlohmann::json PredictorSearch::state() const {
  nlohmann::json results = nlohmann::json::array();
  for (const auto& r : results_) {
    results.push_back({{"choices", r.arch.choices()}, {"reward", r.reward}, {"failed", r.failed}});
  }
  std::vector<std::string> visited(visited_.begin(), visited_.end());
  std::sort(visited.begin(), visited.end());  // stable bytes for equal states
  nlohmann::json ensemble = nullptr;
  if (trained_) {
    std::ostringstream bytes;
    torch::save(predictor_->ensemble, bytes);
    ensemble = to_binary(bytes.str());
  }
  return {{"type", kType},
          {"version", 1},
          {"options", options_.to_json()},
          {"rng", rng_.state()},
          {"results", results},
          {"visited", visited},
          {"ensemble", ensemble},
          {"trained_on", trained_on_},
          {"reward_mean", reward_mean_},
          {"reward_std", reward_std_},
          {"proposals", proposals_},
          {"fits", fits_},
          {"restart_at", restart_at_},
          {"restarts", restarts_}};
}

void PredictorSearch::load_state(const nlohmann::json& state) {
  if (state.value("type", "") != kType) {
    throw StoreError("controller state is for '" + state.value("type", "?") + "', not " + kType);
  }
  if (state.value("version", 0) != 1) {
    throw StoreError("predictor controller state: unsupported version " +
                     state.value("version", nlohmann::json()).dump());
  }
  // The ensemble's shape comes from the options: weights of another shape cannot load.
  const auto stored = state.value("options", nlohmann::json::object());
  const auto mine = options_.to_json();
  for (const char* key : {"ensemble", "hidden_size", "layers"}) {
    if (!stored.is_object() || stored.value(key, nlohmann::json()) != mine.at(key)) {
      throw StoreError(std::string("predictor controller state has ") + key + " " +
                       (stored.is_object() ? stored.value(key, nlohmann::json()).dump() : "?") +
                       " but the experiment asks for " + mine.at(key).dump());
    }
  }
  try {
    std::vector<Result> results;
    for (const auto& r : state.at("results")) {
      results.push_back({space_.make(r.at("choices").get<std::vector<int>>()),
                         r.at("reward").get<double>(), r.at("failed").get<bool>()});
    }
    std::unordered_set<std::string> visited;
    for (const auto& s : state.at("visited")) visited.insert(s.get<std::string>());
    const auto& ensemble = state.at("ensemble");
    if (!ensemble.is_null()) {
      std::istringstream bytes(from_binary(ensemble));
      torch::load(predictor_->ensemble, bytes);
    }
    rng_.load_state(state.at("rng").get<std::string>());
    results_ = std::move(results);
    visited_ = std::move(visited);
    trained_ = !ensemble.is_null();
    trained_on_ = state.at("trained_on").get<long>();
    reward_mean_ = state.at("reward_mean").get<double>();
    reward_std_ = state.at("reward_std").get<double>();
    proposals_ = state.at("proposals").get<long>();
    fits_ = state.at("fits").get<long>();
    restart_at_ = state.at("restart_at").get<long>();
    restarts_ = state.at("restarts").get<long>();
  } catch (const nlohmann::json::exception& e) {
    throw StoreError(std::string("predictor controller state is malformed: ") + e.what());
  } catch (const ConfigError& e) {
    throw StoreError(std::string("predictor controller state does not fit this space: ") +
                     e.what());
  } catch (const c10::Error& e) {
    throw StoreError(std::string("predictor controller state: cannot load the ensemble: ") +
                     e.what_without_backtrace());
  }
}

}  // namespace nasforge::controllers
