#include "trainer/sgd.h"

#include <ATen/ATen.h>

namespace nasforge::trainer {

FusedSgd::FusedSgd(std::vector<at::Tensor> params, SgdOptions options)
    : params_(std::move(params)), options_(options) {}

void FusedSgd::zero_grad() {
  for (auto& p : params_) p.mutable_grad().reset();
}

std::vector<at::Tensor> FusedSgd::gradients() const {
  std::vector<at::Tensor> grads;
  grads.reserve(params_.size());
  for (const auto& p : params_) {
    if (p.grad().defined()) grads.push_back(p.grad());
  }
  return grads;
}

void FusedSgd::step(double lr, const at::Tensor& found_inf) {
  const bool use_momentum = options_.momentum != 0;
  if (use_momentum && momentum_.empty()) {
    // Zero buffers make the first step's buffer equal the gradient, as torch.optim.SGD does
    // (with no dampening), and stay valid when that step is skipped for an overflow.
    for (const auto& p : params_) momentum_.push_back(at::zeros_like(p.detach()));
  }
  std::vector<at::Tensor> params, grads, buffers;
  for (size_t i = 0; i < params_.size(); ++i) {
    const auto& g = params_[i].grad();
    if (!g.defined()) continue;
    params.push_back(params_[i].detach());
    grads.push_back(g);
    if (use_momentum) buffers.push_back(momentum_[i]);
  }
  if (params.empty()) return;
  std::optional<at::Tensor> inf;
  if (found_inf.defined()) inf = found_inf;
  at::_fused_sgd_(params, grads, buffers, options_.weight_decay, options_.momentum, lr,
                  /*dampening=*/0.0, options_.nesterov && use_momentum, /*maximize=*/false,
                  /*is_first_step=*/false, /*grad_scale=*/std::nullopt, inf);
}

}  // namespace nasforge::trainer
