#include "search/pbt.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/errors.h"
#include "common/json_config.h"

namespace nasforge::search {

namespace cfg = nasforge::config;

namespace {

HparamSpec parse_spec(const std::string& name, const nlohmann::json& j, const std::string& where) {
  HparamSpec s;
  s.name = name;
  s.integer = name == "batch_size";
  if (j.is_array()) {
    if (j.empty()) throw ConfigError(where + ": expected at least one choice");
    for (size_t i = 0; i < j.size(); ++i) {
      const auto at = where + "[" + std::to_string(i) + "]";
      if (s.integer) {
        s.choices.emplace_back(cfg::in_range(cfg::get_as<int>(j[i], at), 1, 65536, at));
      } else {
        s.choices.emplace_back(cfg::get_as<double>(j[i], at));
      }
    }
    return s;
  }
  cfg::require_object(j, where);
  cfg::reject_unknown_keys(j, where, {"min", "max", "log"});
  s.min = cfg::required<double>(j, "min", where);
  s.max = cfg::required<double>(j, "max", where);
  s.log = cfg::optional<bool>(j, "log", where, false);
  if (!(s.min <= s.max) || (s.log && s.min <= 0) || s.min < 0) {
    throw ConfigError(where + ": expected 0 <= min <= max (min > 0 when log)");
  }
  if (s.integer && s.min < 1) throw ConfigError(where + ".min: a batch size is at least 1");
  return s;
}

nlohmann::json value_json(const HparamSpec& s, double v) {
  if (s.integer) return static_cast<int>(std::lround(v));
  return v;
}

double sample(const HparamSpec& s, Rng& rng) {
  if (!s.choices.empty()) {
    return s.choices[static_cast<size_t>(rng.uniform_int(static_cast<int>(s.choices.size())))]
        .get<double>();
  }
  const double u = rng.uniform();
  if (s.log) return std::exp(std::log(s.min) + u * (std::log(s.max) - std::log(s.min)));
  return s.min + u * (s.max - s.min);
}

std::string format(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", v);
  return text;
}

}  // namespace

nlohmann::json HparamSpec::to_json() const {
  if (!choices.empty()) return choices;
  return {{"min", min}, {"max", max}, {"log", log}};
}

PbtOptions PbtOptions::from_json(const nlohmann::json& j, const std::string& where) {
  cfg::require_object(j, where);
  cfg::reject_unknown_keys(j, where,
                           {"strategy", "hparams", "warmup_trials", "perturb", "quantile"});
  PbtOptions o;
  const auto strategy = cfg::optional<std::string>(j, "strategy", where, "pbt");
  if (strategy != "pbt") {
    throw ConfigError(where + ".strategy: unknown strategy '" + strategy + "'; expected pbt");
  }
  if (!j.contains("hparams")) throw ConfigError(where + ": missing required key \"hparams\"");
  const auto& hp = j.at("hparams");
  cfg::require_object(hp, where + ".hparams");
  cfg::reject_unknown_keys(hp, where + ".hparams",
                           {"learning_rate", "weight_decay", "momentum", "batch_size"});
  if (hp.empty()) throw ConfigError(where + ".hparams: expected at least one hyperparameter");
  for (const auto& [name, spec] : hp.items()) {
    o.hparams.push_back(parse_spec(name, spec, where + ".hparams." + name));
  }
  std::sort(o.hparams.begin(), o.hparams.end(),
            [](const HparamSpec& a, const HparamSpec& b) { return a.name < b.name; });
  o.warmup_trials = cfg::in_range(cfg::optional<int>(j, "warmup_trials", where, o.warmup_trials), 1,
                                  1'000'000, where + ".warmup_trials");
  if (j.contains("perturb")) {
    o.perturb = cfg::list_of<double>(j.at("perturb"), where + ".perturb");
    for (double f : o.perturb) {
      if (!(f > 0)) throw ConfigError(where + ".perturb: factors must be positive");
    }
  }
  o.quantile = cfg::optional<double>(j, "quantile", where, o.quantile);
  if (!(o.quantile > 0 && o.quantile <= 1)) {
    throw ConfigError(where + ".quantile: expected a fraction in (0, 1]");
  }
  return o;
}

nlohmann::json PbtOptions::to_json() const {
  nlohmann::json hp = nlohmann::json::object();
  for (const auto& s : hparams) hp[s.name] = s.to_json();
  return {{"strategy", "pbt"},
          {"hparams", hp},
          {"warmup_trials", warmup_trials},
          {"perturb", perturb},
          {"quantile", quantile}};
}

PbtChoice pbt_choose(const PbtOptions& options, const std::vector<PbtMember>& finished, Rng& rng) {
  PbtChoice out;
  if (static_cast<int>(finished.size()) < options.warmup_trials) {
    const std::string reason = "sample: warmup, " + std::to_string(finished.size()) + " of " +
                               std::to_string(options.warmup_trials) + " trials finished";
    for (const auto& s : options.hparams) {
      const auto v = value_json(s, sample(s, rng));
      out.hparams[s.name] = v;
      out.changes.push_back({s.name, v.get<double>(), reason});
    }
    return out;
  }
  // Exploit: a member of the top quantile (best first, ties to the earlier trial).
  std::vector<const PbtMember*> ranked;
  for (const auto& m : finished) ranked.push_back(&m);
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const PbtMember* a, const PbtMember* b) { return a->score > b->score; });
  const auto top = std::max<size_t>(
      1, static_cast<size_t>(std::floor(options.quantile * static_cast<double>(ranked.size()))));
  const auto& parent = *ranked[static_cast<size_t>(rng.uniform_int(static_cast<int>(top)))];
  const std::string of = " of trial " + std::to_string(parent.ordinal) + "'s";
  // Explore: perturb each value.
  for (const auto& s : options.hparams) {
    if (!parent.hparams.contains(s.name)) {
      const auto v = value_json(s, sample(s, rng));
      out.hparams[s.name] = v;
      out.changes.push_back(
          {s.name, v.get<double>(),
           "sample: trial " + std::to_string(parent.ordinal) + " has no " + s.name});
      continue;
    }
    const double factor = options.perturb[static_cast<size_t>(
        rng.uniform_int(static_cast<int>(options.perturb.size())))];
    const double base = parent.hparams.at(s.name).get<double>();
    double v = 0;
    std::string reason;
    if (!s.choices.empty()) {
      // The neighbour in the factor's direction (the value itself at either end).
      size_t i = 0;
      while (i + 1 < s.choices.size() && s.choices[i].get<double>() != base) ++i;
      if (factor > 1 && i + 1 < s.choices.size()) ++i;
      if (factor < 1 && i > 0) --i;
      v = s.choices[i].get<double>();
      reason = std::string("explore: ") + (factor > 1 ? "next larger" : "next smaller") + of;
    } else {
      v = std::clamp(base * factor, s.min, s.max);
      reason = "explore: x" + format(factor) + of;
    }
    const auto value = value_json(s, v);
    out.hparams[s.name] = value;
    out.changes.push_back({s.name, value.get<double>(), reason});
  }
  return out;
}

}  // namespace nasforge::search
