#pragma once
// An ensemble of small fully connected regressors, the predictor of BANANAS (White, Neiswanger and
// Savani, "BANANAS: Bayesian Optimization with Neural Architectures for Neural Architecture
// Search", AAAI 2021): members differ only in their initial weights, and the spread of their
// predictions stands for the predictor's uncertainty. The members are held as batched weight
// tensors ([members, fan_in, fan_out] per layer), so one batched product trains or evaluates all
// of them at once.
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include "common/rng.h"

namespace nasforge::controllers {

class MlpEnsembleImpl : public torch::nn::Module {
 public:
  // `hidden`: the width of each hidden layer (ReLU); the output is one value per member.
  MlpEnsembleImpl(int members, int inputs, std::vector<int> hidden);

  // x [N, inputs] -> predictions [members, N].
  torch::Tensor forward(const torch::Tensor& x);
  // Every layer's weights and biases uniform in +-1/sqrt(fan_in) (LibTorch's Linear default),
  // drawn from `rng` rather than LibTorch's global generator, so the controller's state fixes it.
  void reset_parameters(Rng& rng);
  int members() const { return members_; }

 private:
  int members_;
  std::vector<torch::Tensor> weights_;  // [members, fan_in, fan_out]
  std::vector<torch::Tensor> biases_;   // [members, 1, fan_out]
};
TORCH_MODULE(MlpEnsemble);

struct FitOptions {
  int steps = 200;  // full-batch Adam steps
  double learning_rate = 0.01;
  double weight_decay = 0.0;
};

// Trains every member on the same data (x [N, inputs], y [N]) with mean squared error, full batch,
// with a fresh Adam; returns the members' mean loss after the last step.
double fit(MlpEnsemble& ensemble, const torch::Tensor& x, const torch::Tensor& y,
           const FitOptions& options);

}  // namespace nasforge::controllers
