#pragma once
// The model-level engine of the 1D CNN binary classifier: the forward pass
// plus loss is one C++ function (kernels/cnn.hpp) and the gradient is Clad's
// reverse pass of that whole function. Parameters and gradients are two flat
// buffers; per batch size, the activations and their adjoints are two more,
// so a steady-state loss_and_grad() allocates nothing.
#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <vector>

#include "model/cnn_config.hpp"
#include "model/cnn_layout.hpp"

namespace torchclad {

// Parameters initialised as torch::nn::Conv1d and torch::nn::Linear do
// (uniform in ±1/sqrt(fan_in) for weights and biases, fan_in = cin * kernel
// or in_features), drawn in module order from a generator seeded with
// `seed`, into a flat float32 buffer: conv W_0 [c0, 1, k0], b_0, ..., then
// W_h [hidden, features], b_h, W_o [1, hidden], b_o.
torch::Tensor init_cnn_params(const CnnConfig& config, uint64_t seed);

// The parameter shapes in that order (torch.nn's shapes).
std::vector<std::vector<int64_t>> cnn_param_shapes(const CnnConfig& config);

class CnnModel {
 public:
  CnnModel(CnnConfig config, uint64_t seed);

  const CnnConfig& config() const { return config_; }
  // The flat parameter and gradient buffers (float32, contiguous).
  torch::Tensor& params() { return params_; }
  torch::Tensor& grads() { return grads_; }
  // Views into params() with cnn_param_shapes' shapes.
  std::vector<torch::Tensor> parameter_views();

  // Mean binary cross-entropy with logits of the batch, and its gradient
  // written into grads() (overwritten). x is [batch, input_length]
  // row-major, targets [batch] in [0, 1]. No checks beyond batch >= 1.
  // With at::get_num_threads() > 1 and a batch of at least
  // kMinSamplesPerThread per thread, the batch is split into one part per
  // thread, each part's gradient taken on its own thread (BLAS single
  // threaded, always: blas::SequentialScope) into its own buffers, and the parts' gradients summed,
  // weighted by their share of the batch: one fork-join per step instead of
  // one per GEMM (on libgomp's team, see cnn_model.cpp).
  float loss_and_grad(const float* x, const float* targets, int batch);
  static constexpr int kMinSamplesPerThread = 1;

  // Logits [n] for a float input [n, input_length] (evaluation, in chunks of
  // at most 256 samples; allocates).
  torch::Tensor forward(const torch::Tensor& x);

 private:
  struct Workspace {
    model::CnnLayout layout;
    std::vector<float> acts, d_acts;
  };
  // The workspace of a batch size for one part (thread) of a split batch.
  Workspace& workspace(int batch, int part = 0);
  float part_loss_and_grad(const float* x, const float* targets, int batch, int part,
                           float* d_params);

  CnnConfig config_;
  torch::Tensor params_, grads_;
  std::map<std::pair<int, int>, Workspace> workspaces_;  // per (batch size, part) met
  std::vector<std::vector<float>> part_grads_;           // per part of a split batch
};

}  // namespace torchclad
