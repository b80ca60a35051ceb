#pragma once
// Declarations only; see ../README.md. ProcessGroupGloo's inline setTimeout() names this member
// (its definition is in libtorch_cpu; nasforge never calls it).
#include <chrono>

namespace gloo {
class Context {
 public:
  void setTimeout(std::chrono::milliseconds timeout);
};
}  // namespace gloo
