#include "ops/cnn_ops.hpp"

#include "ops/find_op.hpp"

namespace torchclad {
namespace {

using detail::find_op;
using T = at::Tensor;
using CT = const at::Tensor&;

}  // namespace

T conv1d(CT input, CT weight, CT bias) {
  static const auto op = find_op<T(CT, CT, CT)>("torchclad::conv1d");
  return op.call(input, weight, bias);
}

T max_pool1d(CT input, int64_t kernel_size) {
  static const auto op = find_op<T(CT, int64_t)>("torchclad::max_pool1d");
  return op.call(input, kernel_size);
}

T bce_with_logits(CT logits, CT target) {
  static const auto op = find_op<T(CT, CT)>("torchclad::bce_with_logits");
  return op.call(logits, target);
}

std::tuple<T, T, T> conv1d_backward(CT grad_output, CT input, CT weight, bool input_requires_grad) {
  static const auto op = find_op<std::tuple<T, T, T>(CT, CT, CT, bool)>("torchclad::conv1d_backward");
  return op.call(grad_output, input, weight, input_requires_grad);
}

T max_pool1d_backward(CT grad_output, CT input, CT output, int64_t kernel_size) {
  static const auto op = find_op<T(CT, CT, CT, int64_t)>("torchclad::max_pool1d_backward");
  return op.call(grad_output, input, output, kernel_size);
}

std::tuple<T, T> bce_with_logits_backward(CT grad_output, CT logits, CT target) {
  static const auto op = find_op<std::tuple<T, T>(CT, CT, CT)>("torchclad::bce_with_logits_backward");
  return op.call(grad_output, logits, target);
}

}  // namespace torchclad
