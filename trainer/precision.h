#pragma once
// Mixed precision: an RAII autocast scope, and the dynamic loss scaler for fp16
// (Micikevicius et al. 2018; the same algorithm as torch.amp.GradScaler).
#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/DeviceType.h>
#include <c10/core/ScalarType.h>

#include "trainer/train_config.h"

namespace nasforge::trainer {

// Enables autocast to `dtype` on `device` for the scope's lifetime (no-op for fp32).
class AutocastScope {
 public:
  AutocastScope(c10::DeviceType device, Precision precision);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

 private:
  c10::DeviceType device_;
  bool active_ = false;
  bool was_enabled_ = false;
  c10::ScalarType previous_dtype_ = c10::ScalarType::Float;
};

// The precision actually used on a device: fp16 on CPU falls back to bf16 (logged once).
Precision effective_precision(Precision requested, c10::DeviceType device);

struct LossScalerOptions {
  double initial_scale = 65536.0;  // 2^16
  double growth_factor = 2.0;
  double backoff_factor = 0.5;
  int growth_interval = 2000;
};

// Scales the loss, unscales gradients in place, and says whether the step may be taken. All
// state stays on the device: `unscale` hands the verdict to the optimizer as a device tensor
// (FusedSgd skips the step itself), so only `unscale_and_check`, `scale_value` and
// `skipped_steps` wait for the device.
class LossScaler {
 public:
  LossScaler(c10::Device device, LossScalerOptions options = {});

  at::Tensor scale(const at::Tensor& loss) const { return loss * scale_; }
  // Unscales `grads` in place; returns found_inf (float32 [1], nonzero when a gradient is inf or
  // NaN: the step must be skipped), without waiting for the device.
  const at::Tensor& unscale(const std::vector<at::Tensor>& grads);
  // As unscale; returns true if the gradients are all finite (the step should be taken).
  bool unscale_and_check(const std::vector<at::Tensor>& grads);
  // Grows the scale after growth_interval clean steps, backs off after a non-finite one.
  void update();

  double scale_value() const;
  std::int64_t skipped_steps() const;

 private:
  LossScalerOptions options_;
  at::Tensor scale_;           // float32 [1]
  at::Tensor growth_tracker_;  // int32 [1]
  at::Tensor found_inf_;       // float32 [1]
  at::Tensor skipped_;         // int64 [1]: steps whose gradients were not finite
};

}  // namespace nasforge::trainer
