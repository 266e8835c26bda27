#include "ops/ops.hpp"

#include "ops/find_op.hpp"

namespace torchclad {
namespace {

using detail::find_op;
using T = at::Tensor;
using CT = const at::Tensor&;

}  // namespace

T linear(CT input, CT weight, CT bias) {
  static const auto op = find_op<T(CT, CT, CT)>("torchclad::linear");
  return op.call(input, weight, bias);
}

T activation(CT input, Activation kind) {
  static const auto op = find_op<T(CT, int64_t)>("torchclad::activation");
  return op.call(input, static_cast<int64_t>(kind));
}

T cross_entropy(CT logits, CT target) {
  static const auto op = find_op<T(CT, CT)>("torchclad::cross_entropy");
  return op.call(logits, target);
}

T mse_loss(CT input, CT target) {
  static const auto op = find_op<T(CT, CT)>("torchclad::mse_loss");
  return op.call(input, target);
}

T mlp_cross_entropy(CT input, CT target, CT params, at::IntArrayRef widths, Activation act) {
  static const auto op = find_op<T(CT, CT, CT, at::IntArrayRef, int64_t)>("torchclad::mlp_cross_entropy");
  return op.call(input, target, params, widths, static_cast<int64_t>(act));
}

std::tuple<T, T, T> linear_backward(CT grad_output, CT input, CT weight, bool input_requires_grad) {
  static const auto op = find_op<std::tuple<T, T, T>(CT, CT, CT, bool)>("torchclad::linear_backward");
  return op.call(grad_output, input, weight, input_requires_grad);
}

T activation_backward(CT grad_output, CT input, Activation kind) {
  static const auto op = find_op<T(CT, CT, int64_t)>("torchclad::activation_backward");
  return op.call(grad_output, input, static_cast<int64_t>(kind));
}

T cross_entropy_backward(CT grad_output, CT logits, CT target) {
  static const auto op = find_op<T(CT, CT, CT)>("torchclad::cross_entropy_backward");
  return op.call(grad_output, logits, target);
}

std::tuple<T, T> mse_loss_backward(CT grad_output, CT input, CT target) {
  static const auto op = find_op<std::tuple<T, T>(CT, CT, CT)>("torchclad::mse_loss_backward");
  return op.call(grad_output, input, target);
}

std::tuple<T, T> mlp_cross_entropy_with_grad(CT input, CT target, CT params, at::IntArrayRef widths,
                                             Activation act) {
  static const auto op = find_op<std::tuple<T, T>(CT, CT, CT, at::IntArrayRef, int64_t)>(
      "torchclad::mlp_cross_entropy_with_grad");
  return op.call(input, target, params, widths, static_cast<int64_t>(act));
}

}  // namespace torchclad
