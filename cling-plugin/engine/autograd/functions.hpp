#pragma once
// Autograd kernels of the torchclad operators: torch::autograd::Function
// nodes whose forward runs the operator below the autograd key and whose
// backward calls the matching *_backward operator (a Clad gradient).
#include <ATen/ATen.h>

namespace torchclad::autograd {

at::Tensor linear(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias);
at::Tensor activation(const at::Tensor& input, int64_t kind);
at::Tensor cross_entropy(const at::Tensor& logits, const at::Tensor& target);
at::Tensor mse_loss(const at::Tensor& input, const at::Tensor& target);
at::Tensor mlp_cross_entropy(const at::Tensor& input, const at::Tensor& target, const at::Tensor& params,
                             at::IntArrayRef widths, int64_t activation);

}  // namespace torchclad::autograd
