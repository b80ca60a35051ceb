#include "search/fidelity.h"

#include <algorithm>
#include <cmath>

#include "common/errors.h"
#include "common/json_config.h"

namespace nasforge::search {

namespace cfg = nasforge::config;

FidelityOptions FidelityOptions::from_json(const nlohmann::json& j, const std::string& where) {
  cfg::require_object(j, where);
  cfg::reject_unknown_keys(j, where,
                           {"type", "rungs", "eta", "bracket_size", "continue", "extend_best"});
  FidelityOptions o;
  o.type = cfg::optional<std::string>(j, "type", where, o.type);
  if (o.type != "successive_halving" && o.type != "hyperband") {
    throw ConfigError(where + ".type: unknown schedule '" + o.type +
                      "'; expected successive_halving or hyperband");
  }
  if (!j.contains("rungs")) throw ConfigError(where + ": missing required key \"rungs\"");
  o.rungs = cfg::list_of<int>(j.at("rungs"), where + ".rungs");
  if (o.rungs.size() < 2) {
    throw ConfigError(where + ".rungs: expected at least two fidelities (epochs), e.g. [12, 200]");
  }
  for (size_t i = 0; i < o.rungs.size(); ++i) {
    if (o.rungs[i] < 1 || (i > 0 && o.rungs[i] <= o.rungs[i - 1])) {
      throw ConfigError(where + ".rungs: epochs must be positive and strictly increasing");
    }
  }
  o.eta = cfg::in_range(cfg::optional<int>(j, "eta", where, o.eta), 2, 100, where + ".eta");
  o.bracket_size = cfg::in_range(cfg::optional<int>(j, "bracket_size", where, 0), 0, 1'000'000,
                                 where + ".bracket_size");
  o.continue_training = cfg::optional<bool>(j, "continue", where, false);
  o.extend_best = cfg::optional<bool>(j, "extend_best", where, false);
  if (o.extend_best && !o.continue_training) {
    throw ConfigError(where +
                      ".extend_best: needs \"continue\": true (the best network trains further "
                      "from its weights)");
  }
  if (o.bracket_size == 0) {
    o.bracket_size = static_cast<int>(std::pow(o.eta, static_cast<double>(o.rungs.size() - 1)));
  }
  return o;
}

nlohmann::json FidelityOptions::to_json() const {
  return {{"type", type},
          {"rungs", rungs},
          {"eta", eta},
          {"bracket_size", bracket_size},
          {"continue", continue_training},
          {"extend_best", extend_best}};
}

int trained_epochs(const nlohmann::json& hparams, TrialState state, int reached) {
  const int start = hparams.is_object() ? hparams.value("start_epoch", 0) : 0;
  const int trained = std::max(0, reached - start);
  return state == TrialState::kFailed ? std::max(1, trained) : trained;
}

SuccessiveHalving::SuccessiveHalving(FidelityOptions options) : options_(std::move(options)) {
  if (options_.rungs.empty() || options_.bracket_size < 1) {
    throw InternalError("SuccessiveHalving: options not validated");
  }
}

std::vector<size_t> SuccessiveHalving::promoted(const std::vector<double>& scores, int eta) {
  std::vector<size_t> order(scores.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return scores[a] > scores[b]; });
  if (order.empty()) return order;
  order.resize(std::max<size_t>(1, scores.size() / static_cast<size_t>(eta)));
  return order;
}

void SuccessiveHalving::start_bracket(int bracket) {
  bracket_ = bracket;
  const int k = static_cast<int>(options_.rungs.size());
  if (options_.type == "hyperband") {
    // Brackets cycle from the most aggressive (all rungs, h = k - 1 halvings) to plain full
    // evaluation (h = 0); bracket h starts n = ceil(B / eta^(k-1) * k / (h + 1) * eta^h).
    const int h = k - 1 - bracket % k;
    start_ = k - 1 - h;
    const double n = options_.bracket_size / std::pow(options_.eta, k - 1) * k / (h + 1) *
                     std::pow(options_.eta, h);
    size_ = std::max(1, static_cast<int>(std::ceil(n - 1e-9)));
  } else {
    start_ = 0;
    size_ = options_.bracket_size;
  }
  entries_.assign(static_cast<size_t>(k), {});
}

std::vector<SuccessiveHalving::Entry> SuccessiveHalving::ranked(int rung) const {
  std::vector<Entry> usable;
  for (const auto& e : entries_[static_cast<size_t>(rung)]) {
    if (e.usable) usable.push_back(e);
  }
  std::vector<double> scores;
  for (const auto& e : usable) scores.push_back(e.score);
  std::vector<Entry> out;
  if (usable.empty()) return out;
  for (size_t i : promoted(scores, options_.eta)) out.push_back(usable[i]);
  return out;
}

SuccessiveHalving::Step SuccessiveHalving::next() {
  if (bracket_ < 0) start_bracket(0);
  const int k = static_cast<int>(options_.rungs.size());
  while (true) {
    for (int r = start_; r < k; ++r) {
      const auto done = entries_[static_cast<size_t>(r)].size();
      if (r == start_) {
        if (done < static_cast<size_t>(size_))
          return {bracket_, r, options_.rungs[r], false, -1, 0, 0};
        continue;
      }
      const auto top = ranked(r - 1);
      if (done < top.size()) {
        int usable = 0;
        for (const auto& e : entries_[static_cast<size_t>(r - 1)]) usable += e.usable ? 1 : 0;
        return {bracket_, r, options_.rungs[r], true, top[done].ordinal, static_cast<int>(done) + 1,
                usable};
      }
    }
    start_bracket(bracket_ + 1);
  }
}

int SuccessiveHalving::epochs_to_finish(const Step& step) const {
  if (step.bracket != bracket_) throw InternalError("SuccessiveHalving: step of another bracket");
  const int k = static_cast<int>(options_.rungs.size());
  int epochs = 0;
  int planned = size_;
  for (int r = start_; r < k; ++r) {
    if (r > start_) planned = std::max(1, planned / options_.eta);
    const auto done = static_cast<int>(entries_[static_cast<size_t>(r)].size());
    const int cost =
        options_.rungs[static_cast<size_t>(r)] -
        (options_.continue_training && r > start_ ? options_.rungs[static_cast<size_t>(r - 1)] : 0);
    epochs += std::max(0, planned - done) * cost;
  }
  return epochs;
}

void SuccessiveHalving::record(const Step& step, std::int64_t ordinal, double score, bool usable) {
  if (step.bracket != bracket_ || step.rung < start_ ||
      step.rung >= static_cast<int>(entries_.size())) {
    throw InternalError("SuccessiveHalving::record: step is not the current one");
  }
  entries_[static_cast<size_t>(step.rung)].push_back({ordinal, score, usable});
}

}  // namespace nasforge::search
