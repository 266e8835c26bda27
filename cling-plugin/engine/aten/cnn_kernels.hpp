#pragma once
// The CNN operators' kernels (torchclad::conv1d, max_pool1d, bce_with_logits
// and their *_backward operators) for the CPU (checks, then the plain kernels
// and their hand-written / Clad gradients) and for the Meta device (shapes
// only). Registered in cnn_registration.cpp. Tensors use PyTorch's layouts:
// [batch, channels, length] for conv1d and max_pool1d.
#include <ATen/ATen.h>

#include <tuple>

namespace torchclad::aten {

#define TORCHCLAD_DECLARE_CNN_OPERATOR_KERNELS                                                  \
  at::Tensor conv1d(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias); \
  std::tuple<at::Tensor, at::Tensor, at::Tensor> conv1d_backward(                               \
      const at::Tensor& grad_output, const at::Tensor& input, const at::Tensor& weight,         \
      bool input_requires_grad);                                                                \
  at::Tensor max_pool1d(const at::Tensor& input, int64_t kernel_size);                          \
  at::Tensor max_pool1d_backward(const at::Tensor& grad_output, const at::Tensor& input,        \
                                 const at::Tensor& output, int64_t kernel_size);                \
  at::Tensor bce_with_logits(const at::Tensor& logits, const at::Tensor& target);               \
  std::tuple<at::Tensor, at::Tensor> bce_with_logits_backward(                                  \
      const at::Tensor& grad_output, const at::Tensor& logits, const at::Tensor& target);

namespace cpu {
TORCHCLAD_DECLARE_CNN_OPERATOR_KERNELS
}  // namespace cpu

namespace meta {
TORCHCLAD_DECLARE_CNN_OPERATOR_KERNELS
}  // namespace meta

#undef TORCHCLAD_DECLARE_CNN_OPERATOR_KERNELS

}  // namespace torchclad::aten
