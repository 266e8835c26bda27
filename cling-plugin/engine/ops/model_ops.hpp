#pragma once
// A registered model definition as a LibTorch operation: the loss of
// definition `name` on a batch, differentiable with respect to params (the
// backward pass is the definition's Clad gradient). float32 or float64;
// params as DefinedModel lays them out (define::ParamSpec::offset).
#include <ATen/ATen.h>

#include <string>

namespace torchclad {

at::Tensor model_loss(const std::string& name, const at::Tensor& params, const at::Tensor& input,
                      const at::Tensor& target);

}  // namespace torchclad
