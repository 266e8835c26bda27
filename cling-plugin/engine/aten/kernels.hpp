#pragma once
// The torchclad operators' kernels for the CPU (checks, then the Clad
// kernels and gradients) and for the Meta device (shapes only, with symbolic
// sizes, for FakeTensor tracing and torch.compile). Registered in
// registration.cpp; schemas are listed there.
#include <ATen/ATen.h>

#include <tuple>

namespace torchclad::aten {

// One list of kernel signatures for both devices (registration.cpp registers
// both with one list too).
#define TORCHCLAD_DECLARE_OPERATOR_KERNELS                                                                  \
  at::Tensor linear(const at::Tensor& input, const at::Tensor& weight, const at::Tensor& bias);             \
  std::tuple<at::Tensor, at::Tensor, at::Tensor> linear_backward(                                           \
      const at::Tensor& grad_output, const at::Tensor& input, const at::Tensor& weight,                     \
      bool input_requires_grad);                                                                            \
  at::Tensor activation(const at::Tensor& input, int64_t kind);                                             \
  at::Tensor activation_backward(const at::Tensor& grad_output, const at::Tensor& input, int64_t kind);     \
  at::Tensor cross_entropy(const at::Tensor& logits, const at::Tensor& target);                             \
  at::Tensor cross_entropy_backward(const at::Tensor& grad_output, const at::Tensor& logits,                \
                                    const at::Tensor& target);                                              \
  at::Tensor mse_loss(const at::Tensor& input, const at::Tensor& target);                                   \
  std::tuple<at::Tensor, at::Tensor> mse_loss_backward(const at::Tensor& grad_output,                       \
                                                       const at::Tensor& input, const at::Tensor& target);  \
  at::Tensor mlp_cross_entropy(const at::Tensor& input, const at::Tensor& target, const at::Tensor& params, \
                               at::IntArrayRef widths, int64_t activation);                                 \
  std::tuple<at::Tensor, at::Tensor> mlp_cross_entropy_with_grad(                                           \
      const at::Tensor& input, const at::Tensor& target, const at::Tensor& params, at::IntArrayRef widths,  \
      int64_t activation);

namespace cpu {
TORCHCLAD_DECLARE_OPERATOR_KERNELS
}  // namespace cpu

namespace meta {
TORCHCLAD_DECLARE_OPERATOR_KERNELS
}  // namespace meta

#undef TORCHCLAD_DECLARE_OPERATOR_KERNELS

}  // namespace torchclad::aten
