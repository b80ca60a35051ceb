#include "search/distributed_trials.h"

#include "common/errors.h"
#include "common/log.h"

namespace nasforge::search {

TrialLeader::TrialLeader(trainer::distributed::DistributedContext& context,
                         const space::SearchSpace& space,
                         trainer::distributed::DataParallelEvaluator& evaluator)
    : context_(context), space_(space), evaluator_(evaluator) {
  if (!context.is_main())
    throw InternalError("TrialLeader on rank " + std::to_string(context.rank()));
}

TrialLeader::~TrialLeader() {
  try {
    finish();
  } catch (const std::exception& e) {
    log::warn(std::string("could not tell the other ranks that the search is over: ") + e.what());
  }
}

TrialResult TrialLeader::evaluate(const space::Architecture& arch,
                                  const trainer::TrialContext& context) {
  // Checked before the other ranks are told anything, so that they never start a trial that rank
  // 0 refuses (the search refuses "fidelity.continue" for data-parallel runs up front).
  if (!context.init_weights_path.empty()) {
    throw InternalError("data-parallel trials cannot continue from saved weights");
  }
  const nlohmann::json message = {{"version", 1},
                                  {"architecture", space_.to_json(arch)},
                                  {"trial_id", context.trial_id},
                                  {"seed", context.seed},
                                  {"hparams", context.hparams}};
  context_.broadcast_string(message.dump());
  return evaluator_.evaluate(arch, context);
}

void TrialLeader::finish() {
  if (finished_) return;
  finished_ = true;
  context_.broadcast_string(nlohmann::json{{"version", 1}, {"done", true}}.dump());
}

int follow_trials(trainer::distributed::DistributedContext& context,
                  const space::SearchSpace& space,
                  trainer::distributed::DataParallelEvaluator& evaluator) {
  int count = 0;
  for (;;) {
    const auto message = nlohmann::json::parse(context.broadcast_string(""));
    if (message.at("version").get<int>() != 1) {
      throw InternalError("rank 0 sent a trial message of version " + message.at("version").dump());
    }
    if (message.value("done", false)) return count;
    trainer::TrialContext trial;
    trial.trial_id = message.at("trial_id").get<std::int64_t>();
    trial.seed = message.at("seed").get<std::uint64_t>();
    trial.hparams = message.at("hparams");
    evaluator.evaluate(space.from_json(message.at("architecture")), trial);
    ++count;
  }
}

}  // namespace nasforge::search
