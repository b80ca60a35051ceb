#pragma once
// An experiment made ready to run: its search space built and its evaluator made (the data
// loaded, or the table read) once, and checked, before any database is created.
#include <memory>

#include "search/experiment.h"
#include "space/search_space.h"
#include "trainer/dataset.h"
#include "trainer/evaluator.h"

namespace nasforge::search {

struct PreparedExperiment {
  std::unique_ptr<space::SearchSpace> space;
  std::unique_ptr<trainer::Evaluator> evaluator;
  // The data the evaluator trains on (null for table evaluators), for its report.
  std::shared_ptr<const trainer::DataSplits> data;
};

PreparedExperiment prepare(const Experiment& experiment);

}  // namespace nasforge::search
