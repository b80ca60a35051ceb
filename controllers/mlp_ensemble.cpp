#include "controllers/mlp_ensemble.h"

#include <cmath>
#include <string>

#include <torch/csrc/autograd/grad_mode.h>
#include <torch/optim/adam.h>

namespace nasforge::controllers {

MlpEnsembleImpl::MlpEnsembleImpl(int members, int inputs, std::vector<int> hidden)
    : members_(members) {
  hidden.push_back(1);
  int fan_in = inputs;
  for (size_t l = 0; l < hidden.size(); ++l) {
    weights_.push_back(register_parameter("weight" + std::to_string(l),
                                          torch::zeros({members, fan_in, hidden[l]})));
    biases_.push_back(
        register_parameter("bias" + std::to_string(l), torch::zeros({members, 1, hidden[l]})));
    fan_in = hidden[l];
  }
}

void MlpEnsembleImpl::reset_parameters(Rng& rng) {
  torch::NoGradGuard no_grad;
  for (size_t l = 0; l < weights_.size(); ++l) {
    const double range = 1.0 / std::sqrt(static_cast<double>(weights_[l].size(1)));
    for (auto* p : {&weights_[l], &biases_[l]}) {
      auto values = torch::empty(p->sizes(), torch::kFloat32);
      auto* data = values.data_ptr<float>();
      for (int64_t i = 0; i < values.numel(); ++i) {
        data[i] = static_cast<float>((2 * rng.uniform() - 1) * range);
      }
      p->copy_(values);
    }
  }
}

torch::Tensor MlpEnsembleImpl::forward(const torch::Tensor& x) {
  auto h = x.unsqueeze(0).expand({members_, x.size(0), x.size(1)});
  for (size_t l = 0; l < weights_.size(); ++l) {
    h = torch::baddbmm(biases_[l], h, weights_[l]);
    if (l + 1 < weights_.size()) h = h.relu();
  }
  return h.squeeze(-1);
}

double fit(MlpEnsemble& ensemble, const torch::Tensor& x, const torch::Tensor& y,
           const FitOptions& options) {
  torch::optim::Adam optimizer(
      ensemble->parameters(),
      torch::optim::AdamOptions(options.learning_rate).weight_decay(options.weight_decay));
  const auto target = y.unsqueeze(0);
  double loss_value = 0;
  for (int step = 0; step < options.steps; ++step) {
    optimizer.zero_grad();
    // Summed over members, so each member's gradient is that of its own mean error.
    auto loss = (ensemble->forward(x) - target).pow(2).mean(1).sum();
    loss.backward();
    optimizer.step();
    if (step + 1 == options.steps) loss_value = loss.item<double>() / ensemble->members();
  }
  return loss_value;
}

}  // namespace nasforge::controllers
