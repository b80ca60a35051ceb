#include "controllers/arch_encoding.h"

namespace nasforge::controllers {

int one_hot_size(const space::SearchSpace& space) {
  int size = 0;
  for (const auto& d : space.decisions()) size += static_cast<int>(d.choices.size());
  return size;
}

void append_one_hot(const space::SearchSpace& space, const space::Architecture& arch,
                    std::vector<float>& out) {
  const auto& decisions = space.decisions();
  for (size_t i = 0; i < decisions.size(); ++i) {
    for (int c = 0; c < static_cast<int>(decisions[i].choices.size()); ++c) {
      out.push_back(c == arch.choices()[i] ? 1.0f : 0.0f);
    }
  }
}

}  // namespace nasforge::controllers
