#pragma once
// The model-level engine: an MLP whose forward pass plus loss is one C++
// function (kernels/mlp.hpp) and whose gradient is Clad's reverse pass of
// that whole function. Parameters, gradients and, per batch size, the
// activations and their adjoints each live in one preallocated buffer, so a
// steady-state loss_and_grad() allocates nothing.
#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <vector>

#include "model/mlp_layout.hpp"
#include "ops/activation.hpp"

namespace torchclad {

struct MlpConfig {
  std::vector<int64_t> widths;  // e.g. {784, 256, 128, 10}
  Activation activation = kernels::kRelu;
};

// Parameters initialised as torch::nn::Linear does (uniform in ±1/sqrt(fan_in)
// for weights and biases), drawn from a generator seeded with `seed`, into a
// flat float32 buffer laid out as W_0, b_0, W_1, b_1, ...
torch::Tensor init_mlp_params(const MlpConfig& config, uint64_t seed);

class MlpModel {
 public:
  MlpModel(MlpConfig config, uint64_t seed);

  const MlpConfig& config() const { return config_; }
  int layers() const { return static_cast<int>(config_.widths.size()) - 1; }
  // The flat parameter and gradient buffers (float32, contiguous).
  torch::Tensor& params() { return params_; }
  torch::Tensor& grads() { return grads_; }
  // W_l [out, in] and b_l [out] as views into params(), in nn.Linear's order.
  std::vector<torch::Tensor> parameter_views();

  // Mean cross-entropy of the batch, and its gradient written into grads()
  // (overwritten, not accumulated). x is [batch, widths[0]] row-major,
  // labels in [0, widths.back()). No checks: the trainer and the ATen ops
  // validate tensors before calling this.
  float loss_and_grad(const float* x, const int32_t* labels, int batch);

  // Logits [batch, out] for a float32 input [batch, in] (evaluation; allocates).
  torch::Tensor forward(const torch::Tensor& x);

 private:
  struct Workspace {
    model::MlpLayout layout;
    std::vector<float> acts, d_acts;
  };
  Workspace& workspace(int batch);

  MlpConfig config_;
  torch::Tensor params_, grads_;
  std::map<int, Workspace> workspaces_;  // one per batch size met (a last partial batch is a second)
};

}  // namespace torchclad
