#include "trainer/evaluator.h"

#include "common/errors.h"

namespace nasforge::trainer {

std::string to_string(TrialStatus status) {
  switch (status) {
    case TrialStatus::kCompleted:
      return "completed";
    case TrialStatus::kFailed:
      return "failed";
    case TrialStatus::kPruned:
      return "pruned";
  }
  throw InternalError("unknown TrialStatus");
}

}  // namespace nasforge::trainer
