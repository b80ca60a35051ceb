#pragma once
// The ResNet/DenseNet block space: a fixed stem, then stages; per stage the block type
// (basic, bottleneck or dense), the depth, the width (output channels) or growth rate, and
// the kernel size. Stages after the first halve the resolution.
#include <string>
#include <vector>

#include "space/search_space.h"

namespace nasforge::space {

enum class BlockType { kBasic, kBottleneck, kDense };

std::string to_string(BlockType type);

struct StageOptions {
  std::vector<BlockType> blocks;
  std::vector<int> depths;
  std::vector<int> widths;
  std::vector<int> growth_rates;
  std::vector<int> kernels;
};

// One stage of a concrete architecture.
struct StageChoice {
  BlockType block;
  int depth;
  int width;        // output channels of the stage (for dense: of its transition)
  int growth_rate;  // dense only
  int kernel;
};

class BlockSpace final : public SearchSpace {
 public:
  static constexpr const char* kType = "blocks";
  // Decisions per stage, in this order.
  static constexpr int kDecisionsPerStage = 5;

  explicit BlockSpace(const nlohmann::json& config, const std::string& where = "space");

  std::string type() const override { return kType; }
  const std::vector<Decision>& decisions() const override { return decisions_; }
  nlohmann::json config() const override { return config_; }
  Architecture parse(const std::string& canonical) const override;

  int stem_width() const { return stem_width_; }
  std::vector<StageChoice> stages(const Architecture& arch) const;

 protected:
  std::vector<int> canonicalize(std::vector<int> choices) const override;
  std::string canonical_string(const std::vector<int>& choices) const override;

 private:
  nlohmann::json config_;
  int stem_width_ = 16;
  std::vector<StageOptions> stage_options_;
  std::vector<Decision> decisions_;
};

BlockType parse_block_type(const std::string& name, const std::string& where);

}  // namespace nasforge::space
