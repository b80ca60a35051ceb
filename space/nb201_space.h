#pragma once
// The NAS-Bench-201 cell space (Dong & Yang, ICLR 2020): a cell of 4 nodes, 6 edges, each edge one
// of 5 operations; written canonically as |op~0|+|op~0|op~1|+|op~0|op~1|op~2|.
#include <array>
#include <string>

#include "space/search_space.h"

namespace nasforge::space {

class Nb201Space final : public SearchSpace {
 public:
  static constexpr const char* kType = "nb201";
  static constexpr int kEdges = 6;
  static constexpr std::array<const char*, 5> kOperations = {"none", "skip_connect", "nor_conv_1x1",
                                                             "nor_conv_3x3", "avg_pool_3x3"};
  // Edge e goes from node kEdgeFrom[e] to node kEdgeTo[e], in canonical order.
  static constexpr std::array<int, kEdges> kEdgeFrom = {0, 0, 1, 0, 1, 2};
  static constexpr std::array<int, kEdges> kEdgeTo = {1, 2, 2, 3, 3, 3};

  explicit Nb201Space(const nlohmann::json& config = {{"type", kType}},
                      const std::string& where = "space");

  std::string type() const override { return kType; }
  const std::vector<Decision>& decisions() const override { return decisions_; }
  nlohmann::json config() const override { return config_; }
  Architecture parse(const std::string& canonical) const override;

  int channels() const { return channels_; }
  int cells_per_stage() const { return cells_per_stage_; }

 protected:
  std::string canonical_string(const std::vector<int>& choices) const override;

 private:
  nlohmann::json config_;
  int channels_ = 16;
  int cells_per_stage_ = 5;
  std::vector<Decision> decisions_;
};

}  // namespace nasforge::space
