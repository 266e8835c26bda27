// The CNN operators of the torchclad library (a fragment of
// TORCH_LIBRARY(torchclad) in registration.cpp): schemas, and kernels for
// the CPU, Meta and Autograd dispatch keys.
#include <torch/library.h>

#include "aten/cnn_kernels.hpp"
#include "autograd/cnn_functions.hpp"

TORCH_LIBRARY_FRAGMENT(torchclad, m) {
  m.def("conv1d(Tensor input, Tensor weight, Tensor bias) -> Tensor");
  m.def(
      "conv1d_backward(Tensor grad_output, Tensor input, Tensor weight, bool input_requires_grad)"
      " -> (Tensor, Tensor, Tensor)");
  m.def("max_pool1d(Tensor input, int kernel_size) -> Tensor");
  m.def(
      "max_pool1d_backward(Tensor grad_output, Tensor input, Tensor output, int kernel_size)"
      " -> Tensor");
  m.def("bce_with_logits(Tensor logits, Tensor target) -> Tensor");
  m.def(
      "bce_with_logits_backward(Tensor grad_output, Tensor logits, Tensor target)"
      " -> (Tensor, Tensor)");
}

#define TORCHCLAD_IMPL_CNN(ns)                             \
  m.impl("conv1d", &ns::conv1d);                           \
  m.impl("conv1d_backward", &ns::conv1d_backward);         \
  m.impl("max_pool1d", &ns::max_pool1d);                   \
  m.impl("max_pool1d_backward", &ns::max_pool1d_backward); \
  m.impl("bce_with_logits", &ns::bce_with_logits);         \
  m.impl("bce_with_logits_backward", &ns::bce_with_logits_backward);

TORCH_LIBRARY_IMPL(torchclad, CPU, m){TORCHCLAD_IMPL_CNN(torchclad::aten::cpu)} TORCH_LIBRARY_IMPL(torchclad,
                                                                                                   Meta, m){
    TORCHCLAD_IMPL_CNN(torchclad::aten::meta)}

TORCH_LIBRARY_IMPL(torchclad, Autograd, m) {
  m.impl("conv1d", &torchclad::autograd::conv1d);
  m.impl("max_pool1d", &torchclad::autograd::max_pool1d);
  m.impl("bce_with_logits", &torchclad::autograd::bce_with_logits);
}
