#include "trainer/train_config.h"

#include "common/errors.h"
#include "common/json_config.h"
#include "trainer/device.h"

namespace nasforge::trainer {

namespace cfg = nasforge::config;

std::string to_string(Precision precision) {
  switch (precision) {
    case Precision::kFp32:
      return "fp32";
    case Precision::kBf16:
      return "bf16";
    case Precision::kFp16:
      return "fp16";
  }
  throw InternalError("unknown Precision");
}

namespace {

Precision parse_precision(const std::string& name, const std::string& where) {
  if (name == "fp32") return Precision::kFp32;
  if (name == "bf16") return Precision::kBf16;
  if (name == "fp16") return Precision::kFp16;
  throw ConfigError(where + ": unknown precision '" + name + "'; expected fp32, bf16 or fp16");
}

void apply(TrainConfig& c, const nlohmann::json& j, const std::string& where) {
  c.epochs = cfg::in_range(cfg::optional<int>(j, "epochs", where, c.epochs), 1, kMaxEpochs,
                           where + ".epochs");
  c.batch_size = cfg::in_range(cfg::optional<int>(j, "batch_size", where, c.batch_size), 1, 65536,
                               where + ".batch_size");
  c.learning_rate = cfg::in_range(cfg::optional<double>(j, "learning_rate", where, c.learning_rate),
                                  1e-8, 100.0, where + ".learning_rate");
  c.momentum = cfg::in_range(cfg::optional<double>(j, "momentum", where, c.momentum), 0.0, 0.999,
                             where + ".momentum");
  c.weight_decay = cfg::in_range(cfg::optional<double>(j, "weight_decay", where, c.weight_decay),
                                 0.0, 1.0, where + ".weight_decay");
}

}  // namespace

Augmentation Augmentation::from_json(const nlohmann::json& j, const std::string& where) {
  cfg::require_object(j, where);
  cfg::reject_unknown_keys(j, where,
                           {"rotation", "brightness", "contrast", "saturation", "cutout"});
  Augmentation a;
  a.rotation = cfg::in_range(cfg::optional<double>(j, "rotation", where, 0.0), 0.0, 180.0,
                             where + ".rotation");
  // Up to 1: a factor range [1 - x, 1 + x] that stays non-negative.
  a.brightness = cfg::in_range(cfg::optional<double>(j, "brightness", where, 0.0), 0.0, 1.0,
                               where + ".brightness");
  a.contrast = cfg::in_range(cfg::optional<double>(j, "contrast", where, 0.0), 0.0, 1.0,
                             where + ".contrast");
  a.saturation = cfg::in_range(cfg::optional<double>(j, "saturation", where, 0.0), 0.0, 1.0,
                               where + ".saturation");
  a.cutout = cfg::in_range(cfg::optional<int>(j, "cutout", where, 0), 0, 1024, where + ".cutout");
  return a;
}

nlohmann::json Augmentation::to_json() const {
  return {{"rotation", rotation},
          {"brightness", brightness},
          {"contrast", contrast},
          {"saturation", saturation},
          {"cutout", cutout}};
}

TrainConfig TrainConfig::from_json(const nlohmann::json& j, const std::string& where) {
  cfg::require_object(j, where);
  cfg::reject_unknown_keys(
      j, where,
      {"epochs", "batch_size", "learning_rate", "momentum", "nesterov", "weight_decay",
       "label_smoothing", "warmup_epochs", "crop_padding", "flip", "augment", "precision", "device",
       "threads", "eval_batch_size"});
  TrainConfig c;
  apply(c, j, where);
  c.nesterov = cfg::optional<bool>(j, "nesterov", where, c.nesterov);
  c.label_smoothing = cfg::in_range(cfg::optional<double>(j, "label_smoothing", where, 0.0), 0.0,
                                    0.5, where + ".label_smoothing");
  c.warmup_epochs = cfg::in_range(cfg::optional<int>(j, "warmup_epochs", where, 0), 0, 1000,
                                  where + ".warmup_epochs");
  c.crop_padding = cfg::in_range(cfg::optional<int>(j, "crop_padding", where, -1), -1, 16,
                                 where + ".crop_padding");
  if (j.contains("flip")) c.flip = cfg::get_as<bool>(j.at("flip"), where + ".flip") ? 1 : 0;
  if (j.contains("augment"))
    c.augment = Augmentation::from_json(j.at("augment"), where + ".augment");
  c.precision = parse_precision(cfg::optional<std::string>(j, "precision", where, "fp32"),
                                where + ".precision");
  c.device = cfg::optional<std::string>(j, "device", where, c.device);
  try {
    parse_device(c.device, /*cuda_devices=*/1 << 13);  // the form only; the GPUs are checked
  } catch (const ConfigError& e) {                     // when a search starts (resolve_device)
    throw ConfigError(where + "." + e.what());
  }
  c.threads =
      cfg::in_range(cfg::optional<int>(j, "threads", where, 0), 0, 1024, where + ".threads");
  c.eval_batch_size = cfg::in_range(cfg::optional<int>(j, "eval_batch_size", where, 1000), 1, 65536,
                                    where + ".eval_batch_size");
  return c;
}

nlohmann::json TrainConfig::to_json() const {
  nlohmann::json j = {{"epochs", epochs},
                      {"batch_size", batch_size},
                      {"learning_rate", learning_rate},
                      {"momentum", momentum},
                      {"nesterov", nesterov},
                      {"weight_decay", weight_decay},
                      {"label_smoothing", label_smoothing},
                      {"warmup_epochs", warmup_epochs},
                      {"crop_padding", crop_padding},
                      {"precision", to_string(precision)},
                      {"device", device},
                      {"threads", threads},
                      {"eval_batch_size", eval_batch_size}};
  if (flip >= 0) j["flip"] = flip == 1;
  // Only when on, so that the configs stored by earlier versions read back unchanged.
  if (augment.any()) j["augment"] = augment.to_json();
  return j;
}

TrainConfig TrainConfig::with_overrides(const nlohmann::json& hparams,
                                        const std::string& where) const {
  cfg::require_object(hparams, where);
  cfg::reject_unknown_keys(
      hparams, where,
      {"epochs", "batch_size", "learning_rate", "momentum", "weight_decay", "start_epoch"});
  TrainConfig c = *this;
  apply(c, hparams, where);
  c.start_epoch = cfg::in_range(cfg::optional<int>(hparams, "start_epoch", where, 0), 0, kMaxEpochs,
                                where + ".start_epoch");
  if (c.start_epoch >= c.epochs) {
    throw ConfigError(where + ".start_epoch: " + std::to_string(c.start_epoch) +
                      " leaves nothing to train in " + std::to_string(c.epochs) + " epochs");
  }
  return c;
}

}  // namespace nasforge::trainer
