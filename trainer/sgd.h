#pragma once
// SGD with momentum, Nesterov momentum and weight decay: the update rule of torch.optim.SGD (no
// dampening), applied to all parameters at once by PyTorch's fused multi-tensor kernel instead of
// a few small kernels per parameter. A step is skipped on the device when `found_inf` is nonzero,
// so fp16 training with loss scaling never waits for the host.
#include <vector>

#include <ATen/core/Tensor.h>

namespace nasforge::trainer {

struct SgdOptions {
  double momentum = 0.9;
  bool nesterov = true;  // ignored without momentum
  double weight_decay = 0;
};

class FusedSgd {
 public:
  // `params` are the network's parameters (shared with it). Momentum buffers are made at the
  // first step, with each parameter's memory format as it is then.
  FusedSgd(std::vector<at::Tensor> params, SgdOptions options);

  // Drops the gradients (the next backward pass allocates fresh ones).
  void zero_grad();
  // The gradients of the parameters that have one, in parameter order.
  std::vector<at::Tensor> gradients() const;
  // One update at learning rate `lr`; parameters without a gradient are left alone. A defined
  // `found_inf` (float32 [1], on the parameters' device) that is nonzero makes it a no-op.
  void step(double lr, const at::Tensor& found_inf = {});

 private:
  std::vector<at::Tensor> params_;
  std::vector<at::Tensor> momentum_;  // one per parameter once made
  SgdOptions options_;
};

}  // namespace nasforge::trainer
