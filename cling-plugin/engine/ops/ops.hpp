#pragma once
// The op-level C++ API: each function calls the registered operator
// torchclad::<name> through the dispatcher, so it records an autograd node
// whose backward is Clad-generated, mixes with any LibTorch op, and is the
// same operator Python reaches as torch.ops.torchclad.<name>.
#include <ATen/ATen.h>

#include <tuple>
#include <vector>

#include "ops/activation.hpp"

namespace torchclad {

// input [batch, in] · weightᵀ [in, out] + bias [out]  (F.linear).
at::Tensor linear(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias);
at::Tensor activation(const at::Tensor& input, Activation kind);
inline at::Tensor relu(const at::Tensor& x) { return activation(x, kernels::kRelu); }
inline at::Tensor tanh(const at::Tensor& x) { return activation(x, kernels::kTanh); }
inline at::Tensor sigmoid(const at::Tensor& x) { return activation(x, kernels::kSigmoid); }
// Mean softmax cross-entropy of logits [batch, classes] against int64 class indices [batch].
at::Tensor cross_entropy(const at::Tensor& logits, const at::Tensor& target);
at::Tensor mse_loss(const at::Tensor& input, const at::Tensor& target);
// Model level: the mean cross-entropy of a whole MLP (widths {in, hidden..., out},
// 1 to 64 Linear layers) whose parameters are one flat tensor (W_0, b_0, W_1,
// b_1, ...): the built-in Mlp definition of these widths and activation
// (model/mlp_definition.hpp), differentiated by Clad as one function and
// recorded as one autograd node.
at::Tensor mlp_cross_entropy(const at::Tensor& input, const at::Tensor& target, const at::Tensor& params,
                             at::IntArrayRef widths, Activation act);

// Backward operators, as the autograd nodes call them.
std::tuple<at::Tensor, at::Tensor, at::Tensor> linear_backward(const at::Tensor& grad_output,
                                                               const at::Tensor& input,
                                                               const at::Tensor& weight,
                                                               bool input_requires_grad);
at::Tensor activation_backward(const at::Tensor& grad_output, const at::Tensor& input, Activation kind);
at::Tensor cross_entropy_backward(const at::Tensor& grad_output, const at::Tensor& logits,
                                  const at::Tensor& target);
std::tuple<at::Tensor, at::Tensor> mse_loss_backward(const at::Tensor& grad_output, const at::Tensor& input,
                                                     const at::Tensor& target);
std::tuple<at::Tensor, at::Tensor> mlp_cross_entropy_with_grad(const at::Tensor& input,
                                                               const at::Tensor& target,
                                                               const at::Tensor& params,
                                                               at::IntArrayRef widths, Activation act);

}  // namespace torchclad
