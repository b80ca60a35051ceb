#include "trainer/nb201_cost.h"

#include "common/errors.h"
#include "space/nb201_space.h"

namespace nasforge::trainer {

namespace {

struct Counter {
  NetworkCost cost;
  // A convolution without bias producing an h x w map.
  void conv(std::int64_t in, std::int64_t out, std::int64_t kernel, std::int64_t h,
            std::int64_t w) {
    cost.params += in * out * kernel * kernel;
    cost.flops += in * out * kernel * kernel * h * w;
  }
  void batch_norm(std::int64_t channels) { cost.params += 2 * channels; }
};

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.compare(0, prefix.size(), prefix) == 0;
}

}  // namespace

NetworkCost nb201_network_cost(const std::vector<int>& ops, const Nb201Shape& shape) {
  using space::Nb201Space;
  if (ops.size() != static_cast<size_t>(Nb201Space::kEdges)) {
    throw InternalError("nb201_network_cost: expected 6 edges, got " + std::to_string(ops.size()));
  }
  Counter count;
  std::int64_t c = shape.channels;
  std::int64_t h = shape.height;
  std::int64_t w = shape.width;
  count.conv(shape.input_channels, c, 3, h, w);  // stem
  count.batch_norm(c);
  for (int stage = 0; stage < 3; ++stage) {
    if (stage > 0) {
      h /= 2;
      w /= 2;
      count.conv(c, 2 * c, 3, h, w);  // conv_a, stride 2
      count.batch_norm(2 * c);
      count.conv(2 * c, 2 * c, 3, h, w);  // conv_b
      count.batch_norm(2 * c);
      count.conv(c, 2 * c, 1, h, w);  // shortcut after the 2x2 average pool
      c *= 2;
    }
    for (int cell = 0; cell < shape.cells_per_stage; ++cell) {
      for (const int op : ops) {
        const std::string name = Nb201Space::kOperations.at(static_cast<size_t>(op));
        if (name != "nor_conv_1x1" && name != "nor_conv_3x3") continue;
        count.conv(c, c, name == "nor_conv_1x1" ? 1 : 3, h, w);
        count.batch_norm(c);
      }
    }
  }
  count.batch_norm(c);  // before the pooling
  count.cost.params += c * shape.num_classes + shape.num_classes;
  count.cost.flops += c * shape.num_classes;
  return count.cost;
}

bool nb201_shape_of_column(const std::string& column, Nb201Shape& shape) {
  shape = Nb201Shape{};
  if (starts_with(column, "cifar100_")) {
    shape.num_classes = 100;
  } else if (starts_with(column, "imagenet16_")) {
    shape.height = shape.width = 16;
    shape.num_classes = 120;
  } else if (!starts_with(column, "cifar10_")) {
    return false;
  }
  return true;
}

}  // namespace nasforge::trainer
