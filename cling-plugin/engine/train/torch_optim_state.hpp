#pragma once
// The state of torch::optim's SGD (momentum) and Adam over leaf tensors that
// tile a model's flat parameter buffer (the per-layer engines), as
// FlatOptimizerState: the buffers laid out as the flat parameters, so a
// checkpoint has one format whatever the engine (train/checkpoint.hpp).
#include <torch/torch.h>

#include <string>
#include <vector>

#include "optim/optimizers.hpp"

namespace torchclad::train {

// kind: "sgd" or "adam"; steps: the steps taken (SGD does not count them).
FlatOptimizerState torch_optimizer_state(torch::optim::Optimizer& opt,
                                         const std::vector<torch::Tensor>& leaves, const std::string& kind,
                                         int64_t steps);
// Throws c10::Error when the state does not fit the leaves.
void load_torch_optimizer_state(torch::optim::Optimizer& opt, const std::vector<torch::Tensor>& leaves,
                                const std::string& kind, const FlatOptimizerState& state);

}  // namespace torchclad::train
