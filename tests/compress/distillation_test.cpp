// Knowledge distillation: the loss against a hand computation, the teacher checks, and
// fine-tuning with a teacher or a sparsity penalty.
#include "tests/nasforge_catch.h"

#include <ATen/ATen.h>

#include <cmath>

#include "common/errors.h"
#include "compress/distillation.h"
#include "compress/pruning.h"
#include "tests/compress/tiny_network.h"
#include "trainer/dataset.h"

using namespace nasforge;
using namespace nasforge::testing;

namespace {

trainer::DataSplits synthetic() {
  trainer::DatasetSpec spec;
  spec.name = "synthetic";
  spec.format = "synthetic";
  spec.path.clear();
  spec.validation_fraction = 0.2;
  spec.train_subset = 320;  // a few steps: these tests check the loss, not the accuracy
  return trainer::load_splits(spec);
}

trainer::TrainConfig one_epoch() {
  trainer::TrainConfig config;
  config.epochs = 1;
  config.batch_size = 64;
  config.learning_rate = 0.05;
  config.device = "cpu";
  return config;
}

double sum_abs(const std::vector<at::Tensor>& tensors) {
  double total = 0;
  for (const auto& t : tensors) total += t.abs().sum().item<double>();
  return total;
}

}  // namespace

TEST_CASE("the distillation loss equals a hand computation", "[compress]") {
  // Two samples, three classes, T = 2, alpha = 0.7.
  const std::vector<std::vector<double>> s = {{1.0, 2.0, 0.5}, {0.0, -1.0, 3.0}};
  const std::vector<std::vector<double>> t = {{2.0, 0.0, 1.0}, {1.0, 1.0, 1.0}};
  const std::vector<std::int64_t> y = {1, 2};
  const double temperature = 2.0, alpha = 0.7;
  auto softmax = [](const std::vector<double>& z, double temp) {
    std::vector<double> p;
    double sum = 0;
    for (const double v : z) sum += std::exp(v / temp);
    for (const double v : z) p.push_back(std::exp(v / temp) / sum);
    return p;
  };
  double kl = 0, ce = 0;
  for (size_t i = 0; i < 2; ++i) {
    const auto pt = softmax(t[i], temperature), ps = softmax(s[i], temperature);
    for (size_t k = 0; k < 3; ++k) kl += pt[k] * std::log(pt[k] / ps[k]);
    ce += -std::log(softmax(s[i], 1.0)[static_cast<size_t>(y[i])]);
  }
  kl /= 2;
  ce /= 2;
  const double expected = alpha * temperature * temperature * kl + (1 - alpha) * ce;

  const auto student = at::tensor({1.0f, 2.0f, 0.5f, 0.0f, -1.0f, 3.0f}).view({2, 3});
  const auto teacher = at::tensor({2.0f, 0.0f, 1.0f, 1.0f, 1.0f, 1.0f}).view({2, 3});
  const auto labels = at::tensor(y, at::kLong);
  compress::DistillOptions options;
  options.alpha = alpha;
  options.temperature = temperature;
  CHECK(compress::distillation_loss(student, teacher, labels, options).item<double>() ==
        Approx(expected).epsilon(1e-6));
  // alpha 0: the cross-entropy alone; the same logits: no divergence.
  options.alpha = 0;
  CHECK(compress::distillation_loss(student, teacher, labels, options).item<double>() ==
        Approx(ce).epsilon(1e-6));
  options.alpha = 1;
  CHECK(compress::distillation_loss(student, student, labels, options).item<double>() ==
        Approx(0).margin(1e-6));
}

TEST_CASE("distillation settings and teachers that do not fit are ConfigErrors", "[compress]") {
  compress::DistillOptions bad;
  bad.alpha = 1.5;
  CHECK_THROWS_AS(compress::check_distill_options(bad), ConfigError);
  bad.alpha = 0.5;
  bad.temperature = 0;
  CHECK_THROWS_AS(compress::check_distill_options(bad), ConfigError);
  CHECK_THROWS_WITH(compress::check_teacher_fits({1, 12, 12}, 10, {1, 12, 12}, 4),
                    Catch::Contains("teacher has 10 classes"));
  CHECK_THROWS_WITH(compress::check_teacher_fits({3, 32, 32}, 4, {1, 12, 12}, 4),
                    Catch::Contains("teacher takes 3x32x32 inputs"));
  CHECK_NOTHROW(compress::check_teacher_fits({1, 12, 12}, 4, {1, 12, 12}, 4));
}

TEST_CASE("fine-tuning with a teacher trains the student and leaves the teacher as it was",
          "[compress]") {
  const auto data = synthetic();
  const auto space = tiny_space();
  const auto arch = tiny_arch(space);
  const auto teacher = tiny_network(space, arch, 1);
  const auto before = teacher->parameters()[0].clone();
  torch::manual_seed(2);
  const auto student = space::build_block_network(space, arch, data.shape, data.num_classes);
  const auto student_before = student->parameters()[0].clone();
  compress::FineTuneOptions options;
  options.teacher = teacher;
  const auto outcome =
      compress::fine_tune(*student, data, one_epoch(), c10::Device(c10::kCPU), 5, options);
  REQUIRE(outcome.epochs.size() == 1);
  CHECK(std::isfinite(outcome.epochs[0].train_loss));
  CHECK(at::equal(teacher->parameters()[0], before));
  CHECK_FALSE(teacher->parameters()[0].grad().defined());
  CHECK_FALSE(at::equal(student->parameters()[0], student_before));
}

TEST_CASE("the sparsity penalty shrinks the BatchNorm scales that rank channels", "[compress]") {
  const auto data = synthetic();
  const auto space = tiny_space();
  const auto arch = tiny_arch(space);
  const auto widths = space::BlockWidths::defaults(space, arch);
  auto train = [&](double sparsity) {
    torch::manual_seed(4);
    auto net = space::build_block_network(space, arch, data.shape, data.num_classes);
    compress::FineTuneOptions options;
    options.sparsity = sparsity;
    auto* raw = net.get();
    options.sparse_scales = [raw, &space, &arch, &widths] {
      return compress::ranked_batchnorm_scales(*raw, space, arch, widths);
    };
    compress::fine_tune(*net, data, one_epoch(), c10::Device(c10::kCPU), 5, options);
    return sum_abs(compress::ranked_batchnorm_scales(*net, space, arch, widths));
  };
  const double plain = train(0), slimmed = train(0.5);
  CHECK(slimmed < 0.8 * plain);
}
