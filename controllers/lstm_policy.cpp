#include "controllers/lstm_policy.h"

#include <torch/csrc/autograd/grad_mode.h>

namespace nasforge::controllers {

LstmPolicyImpl::LstmPolicyImpl(std::vector<int> choice_counts, int hidden, double temperature,
                               double tanh_constant)
    : choice_counts_(std::move(choice_counts)),
      temperature_(temperature),
      tanh_constant_(tanh_constant) {
  start_ = register_parameter("start", torch::zeros({1, hidden}));
  cell_ = register_module("cell", torch::nn::LSTMCell(hidden, hidden));
  for (size_t i = 0; i < choice_counts_.size(); ++i) {
    heads_.push_back(
        register_module("head" + std::to_string(i), torch::nn::Linear(hidden, choice_counts_[i])));
    if (i + 1 < choice_counts_.size()) {
      embeddings_.push_back(register_module("embedding" + std::to_string(i),
                                            torch::nn::Embedding(choice_counts_[i], hidden)));
    }
  }
}

void LstmPolicyImpl::reset_parameters(Rng& rng, double range) {
  torch::NoGradGuard no_grad;
  for (auto& p : parameters()) {
    auto values = torch::empty(p.sizes(), torch::kFloat32);
    auto* data = values.data_ptr<float>();
    for (int64_t i = 0; i < values.numel(); ++i) {
      data[i] = static_cast<float>((2 * rng.uniform() - 1) * range);
    }
    p.copy_(values);
  }
}

torch::Tensor LstmPolicyImpl::logits(size_t step, const torch::Tensor& hidden) {
  auto raw = heads_[step]->forward(hidden);
  return (raw / temperature_).tanh() * tanh_constant_;
}

std::vector<int> LstmPolicyImpl::sample(Rng& rng) {
  torch::NoGradGuard no_grad;
  std::vector<int> choices;
  torch::Tensor input = start_;
  std::tuple<torch::Tensor, torch::Tensor> state = {torch::zeros_like(start_),
                                                    torch::zeros_like(start_)};
  for (size_t i = 0; i < choice_counts_.size(); ++i) {
    state = cell_->forward(input, state);
    const auto probs = logits(i, std::get<0>(state)).softmax(1).to(torch::kFloat64).contiguous();
    const double* p = probs.data_ptr<double>();
    const double u = rng.uniform();
    int choice = choice_counts_[i] - 1;  // rounding leftovers go to the last choice
    double cumulative = 0;
    for (int c = 0; c < choice_counts_[i]; ++c) {
      cumulative += p[c];
      if (u < cumulative) {
        choice = c;
        break;
      }
    }
    choices.push_back(choice);
    if (i < embeddings_.size()) {
      input = embeddings_[i]->forward(torch::full({1}, choice, torch::kInt64));
    }
  }
  return choices;
}

std::pair<torch::Tensor, torch::Tensor> LstmPolicyImpl::evaluate(const torch::Tensor& choices) {
  const auto batch = choices.size(0);
  torch::Tensor input = start_.expand({batch, start_.size(1)});
  std::tuple<torch::Tensor, torch::Tensor> state = {torch::zeros_like(input),
                                                    torch::zeros_like(input)};
  torch::Tensor log_prob = torch::zeros({batch});
  torch::Tensor entropy = torch::zeros({batch});
  for (size_t i = 0; i < choice_counts_.size(); ++i) {
    state = cell_->forward(input, state);
    const auto log_p = logits(i, std::get<0>(state)).log_softmax(1);
    const auto column = choices.select(1, static_cast<int64_t>(i));
    log_prob = log_prob + log_p.gather(1, column.unsqueeze(1)).squeeze(1);
    entropy = entropy - (log_p.exp() * log_p).sum(1);
    if (i < embeddings_.size()) input = embeddings_[i]->forward(column);
  }
  return {log_prob, entropy};
}

}  // namespace nasforge::controllers
