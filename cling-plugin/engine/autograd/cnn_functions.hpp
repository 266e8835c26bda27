#pragma once
// Autograd kernels of the CNN operators: torch::autograd::Function nodes
// whose forward runs the operator below the autograd key and whose backward
// calls the matching *_backward operator.
#include <ATen/ATen.h>

namespace torchclad::autograd {

at::Tensor conv1d(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias);
at::Tensor max_pool1d(const at::Tensor& input, int64_t kernel_size);
at::Tensor bce_with_logits(const at::Tensor& logits, const at::Tensor& target);

}  // namespace torchclad::autograd
