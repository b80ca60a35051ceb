#include "controllers/reinforce.h"

#include <algorithm>
#include <sstream>

#include <torch/optim/adam.h>
#include <torch/serialize.h>

#include "common/errors.h"
#include "common/json_config.h"
#include "controllers/lstm_policy.h"

namespace nasforge::controllers {

namespace cfg = nasforge::config;

namespace detail {
struct PolicyAndOptimizer {
  PolicyAndOptimizer(LstmPolicy p, double learning_rate)
      : policy(std::move(p)),
        optimizer(policy->parameters(), torch::optim::AdamOptions(learning_rate)) {}
  LstmPolicy policy;
  torch::optim::Adam optimizer;
};
}  // namespace detail

namespace {

constexpr double kInitRange = 0.1;  // ENAS initialises the controller uniformly in [-0.1, 0.1]

nlohmann::json to_binary(const std::string& bytes) {
  return nlohmann::json::binary(std::vector<std::uint8_t>(bytes.begin(), bytes.end()));
}

std::string from_binary(const nlohmann::json& j) {
  const auto& bytes = j.get_binary();
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace

ReinforceOptions ReinforceOptions::from_json(const nlohmann::json& config,
                                             const std::string& where) {
  cfg::require_object(config, where);
  // Experiment files written before the option took its documented name.
  if (config.contains("hidden")) {
    throw ConfigError(where + ".hidden: the option is called \"hidden_size\" now; write " +
                      "\"hidden_size\": " + config.at("hidden").dump() + " instead");
  }
  cfg::reject_unknown_keys(
      config, where,
      {"type", "hidden_size", "temperature", "tanh_constant", "learning_rate", "baseline_decay",
       "entropy_weight", "batch_size", "failed_reward", "unique"});
  ReinforceOptions o;
  o.hidden_size = cfg::in_range(cfg::optional<int>(config, "hidden_size", where, o.hidden_size), 1,
                                4096, where + ".hidden_size");
  o.temperature = cfg::in_range(cfg::optional<double>(config, "temperature", where, o.temperature),
                                1e-3, 1e6, where + ".temperature");
  o.tanh_constant =
      cfg::in_range(cfg::optional<double>(config, "tanh_constant", where, o.tanh_constant), 1e-3,
                    1e6, where + ".tanh_constant");
  o.learning_rate =
      cfg::in_range(cfg::optional<double>(config, "learning_rate", where, o.learning_rate), 1e-8,
                    10.0, where + ".learning_rate");
  o.baseline_decay =
      cfg::in_range(cfg::optional<double>(config, "baseline_decay", where, o.baseline_decay), 0.0,
                    1.0, where + ".baseline_decay");
  o.entropy_weight =
      cfg::in_range(cfg::optional<double>(config, "entropy_weight", where, o.entropy_weight), 0.0,
                    100.0, where + ".entropy_weight");
  o.batch_size = cfg::in_range(cfg::optional<int>(config, "batch_size", where, o.batch_size), 1,
                               100000, where + ".batch_size");
  o.failed_reward = cfg::optional<double>(config, "failed_reward", where, o.failed_reward);
  o.unique = cfg::optional<bool>(config, "unique", where, o.unique);
  return o;
}

nlohmann::json ReinforceOptions::to_json() const {
  return {{"hidden_size", hidden_size},
          {"temperature", temperature},
          {"tanh_constant", tanh_constant},
          {"learning_rate", learning_rate},
          {"baseline_decay", baseline_decay},
          {"entropy_weight", entropy_weight},
          {"batch_size", batch_size},
          {"failed_reward", failed_reward},
          {"unique", unique}};
}

Reinforce::Reinforce(const space::SearchSpace& space, std::uint64_t seed, ReinforceOptions options)
    : space_(space), options_(options), rng_(seed) {
  std::vector<int> counts;
  for (const auto& d : space_.decisions()) counts.push_back(static_cast<int>(d.choices.size()));
  LstmPolicy policy(counts, options_.hidden_size, options_.temperature, options_.tanh_constant);
  policy->reset_parameters(rng_, kInitRange);
  policy_ = std::make_unique<detail::PolicyAndOptimizer>(std::move(policy), options_.learning_rate);
}

Reinforce::~Reinforce() = default;

std::unique_ptr<Controller> Reinforce::from_config(const nlohmann::json& config,
                                                   const space::SearchSpace& space,
                                                   std::uint64_t seed, const std::string& where) {
  return std::make_unique<Reinforce>(space, seed, ReinforceOptions::from_json(config, where));
}

space::Architecture Reinforce::propose() {
  auto choices = policy_->policy->sample(rng_);
  auto arch = space_.make(choices);
  for (int attempt = 1;
       options_.unique && proposed_.count(arch.canonical()) && attempt < kMaxAttempts; ++attempt) {
    choices = policy_->policy->sample(rng_);
    arch = space_.make(choices);
  }
  if (options_.unique) proposed_.insert(arch.canonical());
  pending_.push_back({arch.canonical(), std::move(choices)});
  ++proposals_;
  return arch;
}

void Reinforce::observe(const space::Architecture& arch, double reward, bool failed) {
  ++observations_;
  Sample sample{arch.choices(), failed ? options_.failed_reward : reward};
  auto it = std::find_if(pending_.begin(), pending_.end(),
                         [&](const Pending& p) { return p.canonical == arch.canonical(); });
  if (it != pending_.end()) {
    sample.choices = std::move(it->choices);
    pending_.erase(it);
  }
  buffer_.push_back(std::move(sample));
  if (buffer_.size() >= static_cast<size_t>(options_.batch_size)) update();
}

void Reinforce::update() {
  const auto batch = static_cast<int64_t>(buffer_.size());
  const auto decisions = static_cast<int64_t>(buffer_.front().choices.size());
  auto choices = torch::empty({batch, decisions}, torch::kInt64);
  auto advantages = torch::empty({batch}, torch::kFloat32);
  auto* c = choices.data_ptr<int64_t>();
  auto* a = advantages.data_ptr<float>();
  if (!has_baseline_) {
    double mean = 0;
    for (const auto& s : buffer_) mean += s.reward / static_cast<double>(batch);
    baseline_ = mean;
    has_baseline_ = true;
  }
  for (int64_t i = 0; i < batch; ++i) {
    const auto& s = buffer_[static_cast<size_t>(i)];
    for (int64_t d = 0; d < decisions; ++d)
      c[i * decisions + d] = s.choices[static_cast<size_t>(d)];
    a[i] = static_cast<float>(s.reward - baseline_);
  }
  // The baseline moves after the advantages are taken, so a sample never baselines itself.
  for (const auto& s : buffer_) {
    baseline_ = options_.baseline_decay * baseline_ + (1 - options_.baseline_decay) * s.reward;
  }
  buffer_.clear();

  auto [log_prob, entropy] = policy_->policy->evaluate(choices);
  auto loss = -(advantages * log_prob).mean() - options_.entropy_weight * entropy.mean();
  policy_->optimizer.zero_grad();
  loss.backward();
  policy_->optimizer.step();
  ++updates_;
}

nlohmann::json Reinforce::state() const {
  std::ostringstream policy_bytes;
  torch::save(policy_->policy, policy_bytes);
  std::ostringstream optimizer_bytes;
  torch::save(policy_->optimizer, optimizer_bytes);
  nlohmann::json pending = nlohmann::json::array();
  for (const auto& p : pending_)
    pending.push_back({{"canonical", p.canonical}, {"choices", p.choices}});
  nlohmann::json buffer = nlohmann::json::array();
  for (const auto& s : buffer_) buffer.push_back({{"choices", s.choices}, {"reward", s.reward}});
  std::vector<std::string> proposed(proposed_.begin(), proposed_.end());
  std::sort(proposed.begin(), proposed.end());
  return {{"type", kType},
          {"version", 2},
          {"options", options_.to_json()},
          {"rng", rng_.state()},
          {"policy", to_binary(policy_bytes.str())},
          {"optimizer", to_binary(optimizer_bytes.str())},
          {"baseline", baseline_},
          {"has_baseline", has_baseline_},
          {"pending", pending},
          {"buffer", buffer},
          {"proposed", proposed},
          {"proposals", proposals_},
          {"observations", observations_},
          {"updates", updates_}};
}

void Reinforce::load_state(const nlohmann::json& state) {
  if (state.value("type", "") != kType) {
    throw StoreError("controller state is for '" + state.value("type", "?") + "', not " + kType);
  }
  const int version = state.value("version", 0);
  if (version != 1 && version != 2) {
    throw StoreError("reinforce controller state: unsupported version " +
                     state.value("version", nlohmann::json()).dump());
  }
  // Version 1 (before the option was renamed) stored the hidden size as "hidden".
  const char* hidden_key = version == 1 ? "hidden" : "hidden_size";
  const auto options = state.value("options", nlohmann::json::object());
  const auto stored = options.is_object() ? options.value(hidden_key, nlohmann::json()) : nullptr;
  if (stored != options_.hidden_size) {
    throw StoreError("reinforce controller state has hidden size " + stored.dump() +
                     " but the experiment asks for " + std::to_string(options_.hidden_size));
  }
  try {
    std::vector<Pending> pending;
    for (const auto& p : state.at("pending")) {
      pending.push_back(
          {p.at("canonical").get<std::string>(), p.at("choices").get<std::vector<int>>()});
    }
    std::vector<Sample> buffer;
    for (const auto& s : state.at("buffer")) {
      buffer.push_back({s.at("choices").get<std::vector<int>>(), s.at("reward").get<double>()});
    }
    std::unordered_set<std::string> proposed;
    for (const auto& s : state.at("proposed")) proposed.insert(s.get<std::string>());
    std::istringstream policy_bytes(from_binary(state.at("policy")));
    torch::load(policy_->policy, policy_bytes);
    std::istringstream optimizer_bytes(from_binary(state.at("optimizer")));
    torch::load(policy_->optimizer, optimizer_bytes);
    rng_.load_state(state.at("rng").get<std::string>());
    pending_ = std::move(pending);
    buffer_ = std::move(buffer);
    proposed_ = std::move(proposed);
    baseline_ = state.at("baseline").get<double>();
    has_baseline_ = state.at("has_baseline").get<bool>();
    proposals_ = state.at("proposals").get<long>();
    observations_ = state.at("observations").get<long>();
    updates_ = state.at("updates").get<long>();
  } catch (const nlohmann::json::exception& e) {
    throw StoreError(std::string("reinforce controller state is malformed: ") + e.what());
  } catch (const c10::Error& e) {
    throw StoreError(std::string("reinforce controller state: cannot load the policy: ") +
                     e.what_without_backtrace());
  }
}

}  // namespace nasforge::controllers
