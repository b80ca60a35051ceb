#include "search/prepared_experiment.h"

#include "trainer/evaluator_factory.h"

namespace nasforge::search {

PreparedExperiment prepare(const Experiment& experiment) {
  PreparedExperiment prepared;
  prepared.space = space::make_search_space(experiment.space);
  auto setup = trainer::make_evaluator(experiment.evaluator, experiment.dataset,
                                       experiment.training, *prepared.space);
  prepared.evaluator = std::move(setup.evaluator);
  prepared.data = std::move(setup.data);
  return prepared;
}

}  // namespace nasforge::search
