#include "autograd/cnn_functions.hpp"

#include <torch/autograd.h>

#include "ops/cnn_ops.hpp"

namespace torchclad::autograd {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;
using Tensor = at::Tensor;

// The *_backward operators have no derivative of their own.
void refuse_double_backward(const char* op) {
  TORCH_CHECK(!at::GradMode::is_enabled(), op,
              ": double backward (create_graph=True) is not supported; its backward is a "
              "hand-written or Clad gradient without a derivative of its own");
}

struct Conv1dFunction : torch::autograd::Function<Conv1dFunction> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x, const Tensor& w, const Tensor& b) {
    ctx->save_for_backward({x, w});
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    return torchclad::conv1d(x, w, b);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    refuse_double_backward("torchclad::conv1d");
    const auto saved = ctx->get_saved_variables();
    const bool need_dx = ctx->needs_input_grad(0);
    auto [dx, dw, db] = torchclad::conv1d_backward(grads[0].contiguous(), saved[0], saved[1], need_dx);
    return {need_dx ? dx : Tensor(), dw, db};
  }
};

struct MaxPool1dFunction : torch::autograd::Function<MaxPool1dFunction> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x, int64_t k) {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    auto y = torchclad::max_pool1d(x, k);
    ctx->save_for_backward({x, y});
    ctx->saved_data["k"] = k;
    return y;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    refuse_double_backward("torchclad::max_pool1d");
    const auto saved = ctx->get_saved_variables();
    return {torchclad::max_pool1d_backward(grads[0].contiguous(), saved[0], saved[1],
                                           ctx->saved_data["k"].toInt()),
            Tensor()};
  }
};

struct BceWithLogitsFunction : torch::autograd::Function<BceWithLogitsFunction> {
  static Tensor forward(AutogradContext* ctx, const Tensor& z, const Tensor& y) {
    ctx->save_for_backward({z, y});
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    return torchclad::bce_with_logits(z, y);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    refuse_double_backward("torchclad::bce_with_logits");
    const auto saved = ctx->get_saved_variables();
    auto [dz, dy] = torchclad::bce_with_logits_backward(grads[0], saved[0], saved[1]);
    return {ctx->needs_input_grad(0) ? dz : Tensor(), ctx->needs_input_grad(1) ? dy : Tensor()};
  }
};

}  // namespace

Tensor conv1d(const Tensor& input, const Tensor& weight, const Tensor& bias) {
  return Conv1dFunction::apply(input, weight, bias);
}

Tensor max_pool1d(const Tensor& input, int64_t kernel_size) {
  return MaxPool1dFunction::apply(input, kernel_size);
}

Tensor bce_with_logits(const Tensor& logits, const Tensor& target) {
  return BceWithLogitsFunction::apply(logits, target);
}

}  // namespace torchclad::autograd
