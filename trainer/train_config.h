#pragma once
// How a candidate is trained: SGD with (Nesterov) momentum, cosine schedule, augmentation,
// precision, device. Parsed by hand so that a typo in the experiment file is an error.
#include <string>

#include <nlohmann/json.hpp>

namespace nasforge::trainer {

enum class Precision { kFp32, kBf16, kFp16 };

std::string to_string(Precision precision);

// The most epochs a trial may train (a guard against typos such as 20000 for 200).
constexpr int kMaxEpochs = 10000;

// The augmentations beyond crop and flip ("training.augment"), all off by default; each runs on
// the device with per-image parameters drawn on the host (trainer/augment.h).
struct Augmentation {
  // Each image turns by an angle uniform in [-rotation, rotation] degrees (bilinear, the
  // uncovered corners filled with the mean).
  double rotation = 0;
  // Colour jitter as torchvision's ColorJitter: per image a factor uniform in [1 - x, 1 + x] for
  // each, applied to the [0, 1] pixels in this order and clamped to [0, 1]. Saturation applies to
  // 3-channel images only: on grayscale it is the identity (as in torchvision), so it is ignored
  // there with a warning rather than rejected, and one experiment file serves both kinds of set.
  double brightness = 0;
  double contrast = 0;
  double saturation = 0;
  // Side of the square set to zero (the mean) per image at a random centre, after normalisation
  // (Cutout, DeVries & Taylor 2017); 0: off.
  int cutout = 0;

  bool jitter() const { return brightness > 0 || contrast > 0 || saturation > 0; }
  bool any() const { return rotation > 0 || jitter() || cutout > 0; }
  bool operator==(const Augmentation&) const = default;

  static Augmentation from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
};

struct TrainConfig {
  int epochs = 2;
  int batch_size = 128;
  double learning_rate = 0.05;
  double momentum = 0.9;
  bool nesterov = true;
  double weight_decay = 5e-4;
  double label_smoothing = 0.0;
  int warmup_epochs = 0;
  // Epochs already trained by the weights a trial starts from (a trial continued from a lower
  // fidelity): it trains epochs start_epoch + 1 .. epochs, on a cosine schedule of its own over
  // those epochs (a warm restart). Per-trial override only.
  int start_epoch = 0;
  int crop_padding = -1;  // -1: 2 for 28px inputs, 4 for 32px
  int flip = -1;          // -1: on for natural images (CIFAR), off otherwise
  Augmentation augment;   // rotation, colour jitter, cutout: off unless asked for
  Precision precision = Precision::kFp32;
  std::string device = "auto";  // auto, cpu, cuda, cuda:N
  int threads = 0;              // CPU threads for LibTorch; 0: all cores
  int eval_batch_size = 1000;

  static TrainConfig from_json(const nlohmann::json& j, const std::string& where);
  nlohmann::json to_json() const;
  // Applies per-trial overrides (learning_rate, batch_size, weight_decay, epochs, momentum,
  // start_epoch).
  TrainConfig with_overrides(const nlohmann::json& hparams, const std::string& where) const;
};

}  // namespace nasforge::trainer
