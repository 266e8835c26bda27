#pragma once
// The op-level C++ API of the CNN operators, called through the dispatcher
// (as ops.hpp): each records an autograd node whose backward is the
// hand-written conv/pool pullback or Clad's gradient of the loss, and is the
// operator Python reaches as torch.ops.torchclad.<name>.
#include <ATen/ATen.h>

#include <tuple>

namespace torchclad {

// input [batch, in, length] * weight [out, in, k] + bias [out] -> [batch, out, length - k + 1]
// (F.conv1d with stride 1, no padding).
at::Tensor conv1d(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias);
// F.max_pool1d(input, kernel_size) (stride = kernel_size, no padding).
at::Tensor max_pool1d(const at::Tensor& input, int64_t kernel_size);
// F.binary_cross_entropy_with_logits(logits, target) with mean reduction.
at::Tensor bce_with_logits(const at::Tensor& logits, const at::Tensor& target);

std::tuple<at::Tensor, at::Tensor, at::Tensor> conv1d_backward(const at::Tensor& grad_output,
                                                               const at::Tensor& input,
                                                               const at::Tensor& weight,
                                                               bool input_requires_grad);
at::Tensor max_pool1d_backward(const at::Tensor& grad_output, const at::Tensor& input,
                               const at::Tensor& output, int64_t kernel_size);
std::tuple<at::Tensor, at::Tensor> bce_with_logits_backward(const at::Tensor& grad_output,
                                                            const at::Tensor& logits,
                                                            const at::Tensor& target);

}  // namespace torchclad
