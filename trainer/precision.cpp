#include "trainer/precision.h"

#include <ATen/ATen.h>
#include <ATen/autocast_mode.h>

#include <atomic>

#include "common/log.h"

namespace nasforge::trainer {

Precision effective_precision(Precision requested, c10::DeviceType device) {
  if (requested == Precision::kFp16 && device == c10::DeviceType::CPU) {
    static std::atomic<bool> warned{false};
    if (!warned.exchange(true)) {
      log::warn("fp16 training is not supported on CPU; using bf16 autocast instead");
    }
    return Precision::kBf16;
  }
  return requested;
}

AutocastScope::AutocastScope(c10::DeviceType device, Precision precision) : device_(device) {
  if (precision == Precision::kFp32) return;
  active_ = true;
  was_enabled_ = at::autocast::is_autocast_enabled(device_);
  previous_dtype_ = at::autocast::get_autocast_dtype(device_);
  at::autocast::set_autocast_dtype(device_,
                                   precision == Precision::kFp16 ? at::kHalf : at::kBFloat16);
  at::autocast::set_autocast_enabled(device_, true);
  at::autocast::increment_nesting();
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  at::autocast::set_autocast_enabled(device_, was_enabled_);
  at::autocast::set_autocast_dtype(device_, previous_dtype_);
}

LossScaler::LossScaler(c10::Device device, LossScalerOptions options) : options_(options) {
  const auto f32 = at::TensorOptions().dtype(at::kFloat).device(device);
  scale_ = at::full({1}, options_.initial_scale, f32);
  growth_tracker_ = at::zeros({1}, at::TensorOptions().dtype(at::kInt).device(device));
  found_inf_ = at::zeros({1}, f32);
  skipped_ = at::zeros({1}, at::TensorOptions().dtype(at::kLong).device(device));
}

const at::Tensor& LossScaler::unscale(const std::vector<at::Tensor>& grads) {
  found_inf_.zero_();
  std::vector<at::Tensor> defined;
  for (const auto& g : grads) {
    if (g.defined()) defined.push_back(g);
  }
  if (!defined.empty()) {
    at::_amp_foreach_non_finite_check_and_unscale_(defined, found_inf_, scale_.reciprocal());
  }
  skipped_.add_(found_inf_.ne(0));
  return found_inf_;
}

bool LossScaler::unscale_and_check(const std::vector<at::Tensor>& grads) {
  return unscale(grads).item<float>() == 0.0f;
}

void LossScaler::update() {
  at::_amp_update_scale_(scale_, growth_tracker_, found_inf_, options_.growth_factor,
                         options_.backoff_factor, options_.growth_interval);
}

double LossScaler::scale_value() const { return scale_.item<float>(); }

std::int64_t LossScaler::skipped_steps() const { return skipped_.item<std::int64_t>(); }

}  // namespace nasforge::trainer
