#include "tests/nasforge_catch.h"
#include "tests/trainer/fixtures.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <zlib.h>

#include <filesystem>

#include "common/errors.h"
#include "space/block_space.h"
#include "trainer/augment.h"
#include "trainer/dataset.h"
#include "trainer/torch_evaluator.h"
#include "trainer/training_loop.h"

using namespace nasforge;
using namespace nasforge::testing;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

void write_gz(const fs::path& path, const std::vector<std::uint8_t>& bytes) {
  gzFile f = gzopen(path.c_str(), "wb");
  REQUIRE(f != nullptr);
  gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
  gzclose(f);
}

void push_be32(std::vector<std::uint8_t>& b, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) b.push_back(static_cast<std::uint8_t>(v >> shift));
}

}  // namespace

TEST_CASE("training on a learnable set reaches high validation accuracy", "[trainer]") {
  auto data = synthetic_splits();
  auto space = small_space();
  trainer::TorchEvaluator evaluator(space, data, quick_config());
  std::vector<EpochRecord> seen;
  trainer::TrialContext context;
  context.seed = 3;
  context.on_epoch = [&](const EpochRecord& e) {
    seen.push_back(e);
    return true;
  };
  const auto result = evaluator.evaluate(space.parse("basic-d1-w8-k3/basic-d1-w16-k3"), context);
  REQUIRE(result.state == TrialState::kCompleted);
  CHECK(result.epochs == 3);
  CHECK(seen.size() == 3);
  CHECK(result.val_accuracy > 0.9);
  CHECK(seen.back().train_loss < seen.front().train_loss);
  CHECK(result.params > 0);
  CHECK(result.flops > 0);
}

TEST_CASE("training is deterministic for a seed", "[trainer]") {
  auto data = synthetic_splits();
  auto space = small_space();
  auto config = quick_config();
  config.epochs = 1;
  trainer::TorchEvaluator evaluator(space, data, config);
  trainer::TrialContext context;
  context.seed = 9;
  const auto arch = space.parse("dense-d1-g4-w8-k3/bottleneck-d1-w16-k3");
  const auto a = evaluator.evaluate(arch, context);
  const auto b = evaluator.evaluate(arch, context);
  CHECK(a.val_accuracy == b.val_accuracy);
  CHECK(a.train_loss == b.train_loss);
}

TEST_CASE("a diverging trial ends as failed with the reason", "[trainer]") {
  // A zero standard deviation turns every input into inf/NaN: the loss cannot be finite.
  auto data = synthetic_splits();
  data->std = {0.0f};
  auto space = small_space();
  trainer::TorchEvaluator evaluator(space, data, quick_config());
  const auto result = evaluator.evaluate(space.parse("basic-d1-w8-k3/basic-d1-w16-k3"), {});
  CHECK(result.state == TrialState::kFailed);
  CHECK_THAT(result.error, Catch::Contains("diverged"));
}

TEST_CASE("an epoch callback that says stop prunes the trial", "[trainer]") {
  auto data = synthetic_splits();
  auto space = small_space();
  trainer::TorchEvaluator evaluator(space, data, quick_config());
  trainer::TrialContext context;
  context.on_epoch = [](const EpochRecord& e) { return e.epoch < 1; };
  const auto result = evaluator.evaluate(space.parse("basic-d1-w8-k3/basic-d1-w16-k3"), context);
  CHECK(result.state == TrialState::kPruned);
  CHECK(result.epochs == 1);
}

TEST_CASE("bf16 training on CPU learns as well", "[trainer]") {
  auto data = synthetic_splits();
  auto space = small_space();
  auto config = quick_config();
  config.precision = trainer::Precision::kBf16;
  trainer::TorchEvaluator evaluator(space, data, config);
  const auto result = evaluator.evaluate(space.parse("basic-d1-w8-k3/basic-d1-w16-k3"), {});
  REQUIRE(result.state == TrialState::kCompleted);
  CHECK(result.val_accuracy > 0.85);
}

TEST_CASE("weights saved after training load back to the same predictions", "[trainer]") {
  auto data = synthetic_splits();
  auto space = small_space();
  auto config = quick_config();
  config.epochs = 1;
  trainer::TorchEvaluator evaluator(space, data, config);
  const auto dir = fs::temp_directory_path() / ("nasforge-weights-" + std::to_string(::getpid()));
  trainer::TrialContext context;
  context.weights_path = (dir / "w.pt").string();
  const auto arch = space.parse("dense-d1-g4-w8-k3/basic-d1-w16-k3");
  const auto result = evaluator.evaluate(arch, context);
  REQUIRE(fs::exists(context.weights_path));
  auto net = space::build_network(space, arch, data->shape, data->num_classes);
  trainer::load_weights(*net, context.weights_path);
  const auto metrics = trainer::evaluate_network(*net, data->validation, {data->mean, data->std},
                                                 c10::Device(c10::kCPU), 100);
  CHECK(metrics.accuracy == Approx(result.val_accuracy).margin(1e-9));
  fs::remove_all(dir);
  CHECK_THROWS_AS(trainer::load_weights(*net, (dir / "missing.pt").string()), DataError);
}

TEST_CASE("augmentation keeps shapes and moves content", "[trainer]") {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(1);
  auto batch = at::arange(2 * 1 * 6 * 6, at::kFloat).view({2, 1, 6, 6});
  auto cropped = trainer::random_crop(batch, 2, gen);
  CHECK(cropped.sizes() == batch.sizes());
  auto flipped = trainer::random_flip(batch, gen);
  CHECK(flipped.sizes() == batch.sizes());
  // Each flipped image equals the original or its mirror.
  for (int i = 0; i < 2; ++i) {
    const bool same = flipped[i].equal(batch[i]);
    const bool mirror = flipped[i].equal(batch[i].flip({2}));
    CHECK((same || mirror));
  }
  CHECK(trainer::random_crop(batch, 0, gen).equal(batch));
}

TEST_CASE("IDX files are read, gzipped or not, a missing folder is a DataError", "[trainer]") {
  const auto dir = fs::temp_directory_path() / ("nasforge-idx-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  std::vector<std::uint8_t> images, labels;
  push_be32(images, 0x803);
  push_be32(images, 3);
  push_be32(images, 2);
  push_be32(images, 2);
  for (int i = 0; i < 12; ++i) images.push_back(static_cast<std::uint8_t>(i * 10));
  push_be32(labels, 0x801);
  push_be32(labels, 3);
  labels.insert(labels.end(), {7, 1, 4});
  for (const char* split : {"train", "t10k"}) {
    write_gz(dir / (std::string(split) + "-images-idx3-ubyte.gz"), images);
    write_gz(dir / (std::string(split) + "-labels-idx1-ubyte.gz"), labels);
  }
  const auto set = trainer::read_fashion_mnist(dir.string(), true);
  CHECK(set.images.sizes() == at::IntArrayRef({3, 1, 2, 2}));
  CHECK(set.images[1][0][0][1].item<int>() == 50);
  CHECK(set.labels[0].item<std::int64_t>() == 7);
  std::vector<std::uint8_t> truncated(labels.begin(), labels.end() - 1);
  write_gz(dir / "train-labels-idx1-ubyte.gz", truncated);
  CHECK_THROWS_WITH(trainer::read_fashion_mnist(dir.string(), true), Catch::Contains("truncated"));
  fs::remove_all(dir);
  CHECK_THROWS_WITH(trainer::read_fashion_mnist(dir.string(), true),
                    Catch::Contains("Fashion-MNIST directory not found"));
  CHECK_THROWS_AS(trainer::read_cifar10(dir.string(), true), DataError);
}

TEST_CASE("train config rejects typos and bad values", "[trainer]") {
  CHECK_THROWS_WITH(trainer::TrainConfig::from_json(json{{"epoch", 3}}, "training"),
                    Catch::Contains("training: unknown key \"epoch\""));
  CHECK_THROWS_WITH(trainer::TrainConfig::from_json(json{{"precision", "fp8"}}, "training"),
                    Catch::Contains("unknown precision 'fp8'"));
  CHECK_THROWS_WITH(trainer::TrainConfig::from_json(json{{"batch_size", "big"}}, "training"),
                    Catch::Contains("training.batch_size: expected an integer"));
  CHECK_THROWS_AS(trainer::TrainConfig::from_json(json{{"learning_rate", -1.0}}, "training"),
                  ConfigError);
  const auto c = trainer::TrainConfig::from_json(json{{"epochs", 5}, {"precision", "bf16"}}, "t");
  CHECK(c.epochs == 5);
  CHECK(c.precision == trainer::Precision::kBf16);
  CHECK(trainer::TrainConfig::from_json(c.to_json(), "t").to_json() == c.to_json());
  CHECK(c.with_overrides(json{{"learning_rate", 0.3}}, "h").learning_rate == 0.3);
  CHECK_THROWS_AS(c.with_overrides(json{{"dropout", 0.3}}, "h"), ConfigError);
}

TEST_CASE("a continued trial picks up the schedule from saved weights", "[trainer]") {
  auto data = synthetic_splits();
  auto space = small_space();
  const auto arch = space.parse("basic-d1-w8-k3/basic-d1-w16-k3");
  const auto cpu = c10::Device(c10::kCPU);
  auto config = quick_config();  // 3 epochs
  auto build = [&](std::uint64_t seed) {
    at::manual_seed(seed);
    return space::build_network(space, arch, data->shape, data->num_classes);
  };
  // A fresh 2-epoch run: the schedule the continued epochs 2 and 3 must follow.
  auto fresh_config = config;
  fresh_config.epochs = 2;
  auto fresh_net = build(3);
  const auto fresh = trainer::train_network(*fresh_net, *data, fresh_config, cpu, 7, nullptr);

  // The first rung: one epoch, annealed.
  auto first = config;
  first.epochs = 1;
  auto first_net = build(3);
  const auto first_rung = trainer::train_network(*first_net, *data, first, cpu, 7, nullptr);
  const auto path = (std::filesystem::temp_directory_path() /
                     ("nasforge-continue-" + std::to_string(::getpid()) + ".pt"))
                        .string();
  trainer::save_weights(*first_net, path);

  // The rest, from those weights, in a network built from another seed.
  auto rest = config;
  rest.start_epoch = 1;
  auto rest_net = build(4);
  trainer::load_weights(*rest_net, path);
  std::filesystem::remove(path);
  const auto continued = trainer::train_network(*rest_net, *data, rest, cpu, 8, nullptr);

  REQUIRE(first_rung.epochs.size() == 1);
  REQUIRE(continued.epochs.size() == 2);
  CHECK(continued.epochs[0].epoch == 2);
  CHECK(continued.epochs[1].epoch == 3);
  CHECK_FALSE(continued.stopped_early);
  // A warm restart: the two epochs it adds anneal like a fresh 2-epoch run, step for step.
  CHECK(first_rung.epochs[0].learning_rate < 0.05 * config.learning_rate);
  CHECK(continued.epochs[0].learning_rate == Approx(fresh.epochs[0].learning_rate));
  CHECK(continued.epochs[1].learning_rate == Approx(fresh.epochs[1].learning_rate));
  // Trained weights: its first epoch's loss is well below a fresh network's first epoch (about
  // 0.55 of it here), even though it restarts at the full learning rate.
  CHECK(continued.epochs[0].train_loss < 0.75 * fresh.epochs[0].train_loss);
  CHECK(continued.epochs[1].val_accuracy > 0.85);

  CHECK_THROWS_WITH(config.with_overrides({{"start_epoch", 3}}, "h"),
                    Catch::Contains("h.start_epoch"));
}
