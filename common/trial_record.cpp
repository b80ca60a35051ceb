#include "common/trial_record.h"

#include "common/errors.h"

namespace nasforge {

bool is_finished(TrialState state) {
  switch (state) {
    case TrialState::kPending:
    case TrialState::kRunning:
      return false;
    case TrialState::kCompleted:
    case TrialState::kFailed:
    case TrialState::kPruned:
      return true;
  }
  throw InternalError("unknown TrialState");
}

std::string to_string(TrialState state) {
  switch (state) {
    case TrialState::kPending:
      return "pending";
    case TrialState::kRunning:
      return "running";
    case TrialState::kCompleted:
      return "completed";
    case TrialState::kFailed:
      return "failed";
    case TrialState::kPruned:
      return "pruned";
  }
  throw InternalError("unknown TrialState");
}

TrialState parse_trial_state(const std::string& text) {
  for (const auto state : {TrialState::kPending, TrialState::kRunning, TrialState::kCompleted,
                           TrialState::kFailed, TrialState::kPruned}) {
    if (to_string(state) == text) return state;
  }
  throw StoreError("unknown trial state '" + text + "'");
}

std::string to_string(TrialKind kind) {
  switch (kind) {
    case TrialKind::kNew:
      return "new";
    case TrialKind::kPromotion:
      return "promotion";
    case TrialKind::kExtension:
      return "extension";
  }
  throw InternalError("unknown TrialKind");
}

TrialKind parse_trial_kind(const std::string& text) {
  for (const auto kind : {TrialKind::kNew, TrialKind::kPromotion, TrialKind::kExtension}) {
    if (to_string(kind) == text) return kind;
  }
  throw StoreError("unknown trial kind '" + text + "'");
}

}  // namespace nasforge
