#include "autograd/functions.hpp"

#include <torch/autograd.h>

#include "ops/ops.hpp"

namespace torchclad::autograd {
namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;
using Tensor = at::Tensor;

// The upstream gradient as the backward operators take it.
Tensor dense(const Tensor& g) { return g.contiguous(); }

// The *_backward operators have no derivative of their own: refuse a graph
// of the backward pass (create_graph=True) rather than return a wrong one.
void refuse_double_backward(const char* op) {
  TORCH_CHECK(!at::GradMode::is_enabled(), op,
              ": double backward (create_graph=True) is not supported; its backward is a Clad "
              "gradient without a derivative of its own");
}

struct LinearFunction : torch::autograd::Function<LinearFunction> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x, const Tensor& w, const Tensor& b) {
    ctx->save_for_backward({x, w});
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    return torchclad::linear(x, w, b);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    refuse_double_backward("torchclad::linear");
    const auto saved = ctx->get_saved_variables();
    const bool need_dx = ctx->needs_input_grad(0);
    auto [dx, dw, db] = torchclad::linear_backward(dense(grads[0]), saved[0], saved[1], need_dx);
    return {need_dx ? dx : Tensor(), dw, db};
  }
};

struct ActivationFunction : torch::autograd::Function<ActivationFunction> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x, int64_t kind) {
    ctx->save_for_backward({x});
    ctx->saved_data["kind"] = kind;
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    return torchclad::activation(x, static_cast<Activation>(kind));
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    refuse_double_backward("torchclad::activation");
    const auto kind = static_cast<Activation>(ctx->saved_data["kind"].toInt());
    return {torchclad::activation_backward(dense(grads[0]), ctx->get_saved_variables()[0], kind), Tensor()};
  }
};

struct CrossEntropyFunction : torch::autograd::Function<CrossEntropyFunction> {
  static Tensor forward(AutogradContext* ctx, const Tensor& logits, const Tensor& target) {
    ctx->save_for_backward({logits, target});
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    return torchclad::cross_entropy(logits, target);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    refuse_double_backward("torchclad::cross_entropy");
    const auto saved = ctx->get_saved_variables();
    return {torchclad::cross_entropy_backward(grads[0], saved[0], saved[1]), Tensor()};
  }
};

struct MseFunction : torch::autograd::Function<MseFunction> {
  static Tensor forward(AutogradContext* ctx, const Tensor& input, const Tensor& target) {
    ctx->save_for_backward({input, target});
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    return torchclad::mse_loss(input, target);
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    refuse_double_backward("torchclad::mse_loss");
    const auto saved = ctx->get_saved_variables();
    auto [d_input, d_target] = torchclad::mse_loss_backward(grads[0], saved[0], saved[1]);
    return {ctx->needs_input_grad(0) ? d_input : Tensor(), ctx->needs_input_grad(1) ? d_target : Tensor()};
  }
};

// One node for the whole model: the Mlp definition's Clad gradient yields the
// loss and the parameters' gradient in one pass, so forward keeps the
// gradient and backward only scales it by the upstream gradient.
struct MlpCrossEntropyFunction : torch::autograd::Function<MlpCrossEntropyFunction> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x, const Tensor& target, const Tensor& params,
                        std::vector<int64_t> widths, int64_t act) {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    auto [loss, d_params] =
        torchclad::mlp_cross_entropy_with_grad(x, target, params, widths, static_cast<Activation>(act));
    ctx->save_for_backward({d_params});
    return loss;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    refuse_double_backward("torchclad::mlp_cross_entropy");
    const auto d_params = ctx->get_saved_variables()[0];
    return {Tensor(), Tensor(), d_params * grads[0], Tensor(), Tensor()};
  }
};

}  // namespace

Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias) {
  return LinearFunction::apply(input, weight, bias);
}

Tensor activation(const Tensor& input, int64_t kind) { return ActivationFunction::apply(input, kind); }

Tensor cross_entropy(const Tensor& logits, const Tensor& target) {
  return CrossEntropyFunction::apply(logits, target);
}

Tensor mse_loss(const Tensor& input, const Tensor& target) { return MseFunction::apply(input, target); }

Tensor mlp_cross_entropy(const Tensor& input, const Tensor& target, const Tensor& params,
                         at::IntArrayRef widths, int64_t activation) {
  TORCH_CHECK(!(input.requires_grad() && at::GradMode::is_enabled()),
              "torchclad::mlp_cross_entropy: input requires grad, but the model-level gradient is "
              "taken with respect to params only (use the op-level torchclad::linear etc. for "
              "input gradients)");
  if (!params.requires_grad() || !at::GradMode::is_enabled()) {  // the forward pass alone
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    return torchclad::mlp_cross_entropy(input, target, params, widths, static_cast<Activation>(activation));
  }
  return MlpCrossEntropyFunction::apply(input, target, params, widths.vec(), activation);
}

}  // namespace torchclad::autograd
