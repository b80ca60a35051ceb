#pragma once
// The LSTM policy of NAS-RL / ENAS (Zoph & Le 2017; Pham et al. 2018) over a sequence of
// categorical decisions, each with its own number of choices: one LSTMCell step per decision, a
// linear softmax head per decision, and the embedding of the chosen value as the next input.
#include <utility>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/rnn.h>
#include <torch/nn/pimpl.h>

#include "common/rng.h"

namespace nasforge::controllers {

class LstmPolicyImpl : public torch::nn::Module {
 public:
  LstmPolicyImpl(std::vector<int> choice_counts, int hidden, double temperature,
                 double tanh_constant);

  // Draws one choice vector. Sampling uses `rng` (not LibTorch's global generator) so that the
  // controller's serialised RNG state fixes every future proposal.
  std::vector<int> sample(Rng& rng);
  // For a batch of choice vectors [B, decisions] (int64): the log-probability of each vector and
  // the summed entropy of the per-decision distributions along it, both [B], with gradients.
  std::pair<torch::Tensor, torch::Tensor> evaluate(const torch::Tensor& choices);
  // Every parameter uniform in [-range, range], drawn from `rng` (ENAS uses 0.1).
  void reset_parameters(Rng& rng, double range);

 private:
  torch::Tensor logits(size_t step, const torch::Tensor& hidden);

  std::vector<int> choice_counts_;
  double temperature_;
  double tanh_constant_;
  torch::Tensor start_;  // the learned input of the first step, [1, hidden]
  torch::nn::LSTMCell cell_{nullptr};
  std::vector<torch::nn::Linear> heads_;
  std::vector<torch::nn::Embedding> embeddings_;  // decision i's choice -> input of step i+1
};
TORCH_MODULE(LstmPolicy);

}  // namespace nasforge::controllers
