#pragma once
// Multi-fidelity scheduling across trials: successive halving (Jamieson & Talwalkar, AISTATS 2016)
// and Hyperband (Li et al., JMLR 2018). A bracket evaluates n candidates at its first rung of
// fidelity (epochs); the top 1/eta of each rung are evaluated again, as new trials, at the next
// rung. The scheduler is deterministic: fed the same finished trials in order, it asks for the
// same next step, so a resumed search rebuilds it from the store's rows alone.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/trial_record.h"

namespace nasforge::search {

struct FidelityOptions {
  std::string type = "successive_halving";  // or "hyperband"
  std::vector<int> rungs;  // epochs, strictly increasing; the last is full fidelity
  int eta = 3;
  // Candidates at the first rung of a bracket; 0: eta^(rungs - 1). Hyperband scales its brackets
  // from it (the most aggressive bracket gets exactly this many).
  int bracket_size = 0;
  // A promoted trial starts from its parent's weights and trains only the epochs between the two
  // rungs, annealing over them (a warm restart, as in SGDR); false: it trains from scratch.
  // Either way every rung's result is that of an annealed network.
  bool continue_training = false;
  // With a time budget and continue: when the rest of the current bracket cannot finish in the
  // time left, the search ends by training the best network at the last rung further, from its
  // weights, for as many epochs as the time left allows (instead of starting steps that the
  // budget would cut short).
  bool extend_best = false;

  static FidelityOptions from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
  int max_epochs() const { return rungs.back(); }
};

// Epochs a trial trained, for cost budgets: those it reached, less the start_epoch it continued
// from (its parent paid for them); a failure that trained none still costs one, so a cost budget
// always ends.
int trained_epochs(const nlohmann::json& hparams, TrialState state, int reached);

class SuccessiveHalving {
 public:
  struct Step {
    int bracket = 0;
    int rung = 0;    // index into FidelityOptions::rungs
    int epochs = 0;  // rungs[rung]
    bool promotion = false;
    std::int64_t parent = -1;  // the promoted trial's ordinal
    int rank = 0;              // the parent's rank (1-based) among `of` usable results of its rung
    int of = 0;
  };

  explicit SuccessiveHalving(FidelityOptions options);

  // The next step to run; starts a new bracket when the current one is done.
  Step next();
  // The outcome of `step` (as returned by next()); `usable` is false for failed or pruned trials,
  // which are never promoted.
  void record(const Step& step, std::int64_t ordinal, double score, bool usable);

  // Indices of the entries promoted from a rung with these scores: the top floor(n / eta) (at
  // least one), best first, ties to the earlier entry.
  static std::vector<size_t> promoted(const std::vector<double>& scores, int eta);

  // Epochs the current bracket still needs to finish after `step` (as returned by next(), not yet
  // recorded) starts, counting `step` itself and assuming every result is usable; promotions
  // that continue cost only the epochs they add.
  int epochs_to_finish(const Step& step) const;

  const FidelityOptions& options() const { return options_; }

 private:
  struct Entry {
    std::int64_t ordinal = 0;
    double score = 0;
    bool usable = false;
  };
  void start_bracket(int bracket);
  // Usable entries of a rung, best first.
  std::vector<Entry> ranked(int rung) const;

  FidelityOptions options_;
  int bracket_ = -1;
  int start_ = 0;                            // first rung of the current bracket
  int size_ = 0;                             // candidates at that rung
  std::vector<std::vector<Entry>> entries_;  // per rung, in the current bracket
};

}  // namespace nasforge::search
