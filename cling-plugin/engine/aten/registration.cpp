// The torchclad operator library: schemas, and kernels for the CPU, Meta and
// Autograd dispatch keys. Loading libtorchclad (from C++, or from Python with
// torch.ops.load_library) runs these registrations.
#include <torch/library.h>

#include "aten/kernels.hpp"
#include "autograd/functions.hpp"

TORCH_LIBRARY(torchclad, m) {
  m.def("linear(Tensor input, Tensor weight, Tensor bias) -> Tensor");
  m.def(
      "linear_backward(Tensor grad_output, Tensor input, Tensor weight, bool input_requires_grad)"
      " -> (Tensor, Tensor, Tensor)");
  m.def("activation(Tensor input, int kind) -> Tensor");
  m.def("activation_backward(Tensor grad_output, Tensor input, int kind) -> Tensor");
  m.def("cross_entropy(Tensor logits, Tensor target) -> Tensor");
  m.def("cross_entropy_backward(Tensor grad_output, Tensor logits, Tensor target) -> Tensor");
  m.def("mse_loss(Tensor input, Tensor target) -> Tensor");
  m.def("mse_loss_backward(Tensor grad_output, Tensor input, Tensor target) -> (Tensor, Tensor)");
  m.def(
      "mlp_cross_entropy(Tensor input, Tensor target, Tensor params, int[] widths, int activation)"
      " -> Tensor");
  m.def(
      "mlp_cross_entropy_with_grad(Tensor input, Tensor target, Tensor params, int[] widths,"
      " int activation) -> (Tensor, Tensor)");
}

#define TORCHCLAD_IMPL_ALL(ns)                                   \
  m.impl("linear", &ns::linear);                                 \
  m.impl("linear_backward", &ns::linear_backward);               \
  m.impl("activation", &ns::activation);                         \
  m.impl("activation_backward", &ns::activation_backward);       \
  m.impl("cross_entropy", &ns::cross_entropy);                   \
  m.impl("cross_entropy_backward", &ns::cross_entropy_backward); \
  m.impl("mse_loss", &ns::mse_loss);                             \
  m.impl("mse_loss_backward", &ns::mse_loss_backward);           \
  m.impl("mlp_cross_entropy", &ns::mlp_cross_entropy);           \
  m.impl("mlp_cross_entropy_with_grad", &ns::mlp_cross_entropy_with_grad);

TORCH_LIBRARY_IMPL(torchclad, CPU, m){TORCHCLAD_IMPL_ALL(torchclad::aten::cpu)} TORCH_LIBRARY_IMPL(torchclad,
                                                                                                   Meta, m){
    TORCHCLAD_IMPL_ALL(torchclad::aten::meta)}

// The forward operators are differentiable; their backward operators are not
// (no double backward).
TORCH_LIBRARY_IMPL(torchclad, Autograd, m) {
  m.impl("linear", &torchclad::autograd::linear);
  m.impl("activation", &torchclad::autograd::activation);
  m.impl("cross_entropy", &torchclad::autograd::cross_entropy);
  m.impl("mse_loss", &torchclad::autograd::mse_loss);
  m.impl("mlp_cross_entropy", &torchclad::autograd::mlp_cross_entropy);
}
