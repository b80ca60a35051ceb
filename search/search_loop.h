#pragma once
// The search loop: ask the controller, record the trial, evaluate it, record the outcome and
// tell the controller, with the controller's state written in the same transactions. Resuming
// runs trials left unfinished by a crash again, and continues to the budget.
#include <cstdint>
#include <memory>
#include <string>

#include "controllers/controller.h"
#include "search/experiment.h"
#include "space/search_space.h"
#include "store/sqlite_store.h"
#include "trainer/evaluator.h"

namespace nasforge::search {

// What an experiment needs to run, made (and checked: data present, table readable) before any
// database is created.
struct SearchParts {
  std::unique_ptr<space::SearchSpace> space;
  std::unique_ptr<trainer::Evaluator> evaluator;
};

SearchParts prepare(const Experiment& experiment);

class SearchLoop {
 public:
  SearchLoop(store::SqliteStore& store, std::int64_t experiment_id, const Experiment& experiment,
             SearchParts& parts, std::string artifacts_dir);

  // Runs until the budget of finished trials is reached.
  void run();

 private:
  store::ControllerSnapshot snapshot(std::int64_t step) const;
  void evaluate_and_record(std::int64_t trial_id, std::int64_t ordinal,
                           const space::Architecture& arch);

  store::SqliteStore& store_;
  std::int64_t experiment_id_;
  const Experiment& experiment_;
  SearchParts& parts_;
  std::unique_ptr<controllers::Controller> controller_;
  std::string artifacts_dir_;
  std::int64_t observed_ = 0;
};

}  // namespace nasforge::search
