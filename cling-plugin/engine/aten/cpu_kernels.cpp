// CPU kernels of the torchclad operators: validate, then run the plain
// kernels (forward) or their Clad gradients (backward) on raw buffers. The
// model-level mlp_cross_entropy runs the built-in Mlp definition of its
// widths (model/mlp_definition.hpp) and its Clad gradient.
#include <limits>
#include <memory>
#include <vector>

#include "aten/checks.hpp"
#include "aten/kernels.hpp"
#include "aten/mlp_definitions.hpp"
#include "gradients/gradients.hpp"
#include "kernels/activations.hpp"
#include "kernels/linear.hpp"
#include "kernels/losses.hpp"
#include "model/mlp_definition.hpp"
#include "ops/activation.hpp"

namespace torchclad::aten::cpu {
namespace {

// Runs f(T{}) with T the C++ type of a float32/float64 tensor.
template <typename F>
auto with_float_type(const at::Tensor& t, F&& f) {
  return t.scalar_type() == at::kDouble ? f(double{}) : f(float{});
}

// A copy of an upstream gradient for an adjoint that Clad's code consumes
// (zeroes) in place.
at::Tensor consumable(const at::Tensor& grad, const at::Tensor& like) {
  return grad.to(like.scalar_type()).contiguous().clone();
}

void check_elementwise(const at::Tensor& t, const char* op, const char* arg) {
  check_input(t, op, arg, t.dim(), "tensor");
}

void check_scalar_grad(const at::Tensor& g, const char* op) {
  TORCH_CHECK(g.numel() == 1, op, ": grad_output must hold one value (the loss's gradient), found shape ",
              g.sizes());
}

}  // namespace

at::Tensor linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  constexpr const char* op = "torchclad::linear";
  check_input(x, op, "input", 2, "[batch, in_features]");
  check_input(w, op, "weight", 2, "[out_features, in_features]");
  check_input(b, op, "bias", 1, "[out_features]");
  check_same_dtype(w, x, op, "weight", "input");
  check_same_dtype(b, x, op, "bias", "input");
  check_nonempty_batch(x.size(0), op, "input");
  check_size(w, 1, x.size(1), op, "weight", "in_features of the input");
  check_size(b, 0, w.size(0), op, "bias", "out_features of the weight");
  auto y = at::empty({x.size(0), w.size(0)}, x.options());
  with_float_type(x, [&](auto t) {
    using T = decltype(t);
    kernels::linear_forward<T>(x.data_ptr<T>(), w.data_ptr<T>(), b.data_ptr<T>(), y.data_ptr<T>(), x.size(0),
                               w.size(0), x.size(1));
  });
  return y;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> linear_backward(const at::Tensor& grad_y, const at::Tensor& x,
                                                               const at::Tensor& w,
                                                               bool input_requires_grad) {
  constexpr const char* op = "torchclad::linear_backward";
  check_input(x, op, "input", 2, "[batch, in_features]");
  check_input(w, op, "weight", 2, "[out_features, in_features]");
  check_same_dtype(w, x, op, "weight", "input");
  TORCH_CHECK(grad_y.dim() == 2 && grad_y.size(0) == x.size(0) && grad_y.size(1) == w.size(0), op,
              ": grad_output must be [", x.size(0), ", ", w.size(0), "], found ", grad_y.sizes());
  const int m = x.size(0), n = w.size(0), k = x.size(1);
  auto dy = consumable(grad_y, x);
  auto dx = input_requires_grad ? at::zeros_like(x) : at::empty({0}, x.options());
  auto dw = at::zeros_like(w);
  auto db = at::zeros({n}, x.options());
  // The Linear layer's pullback is the hand-written one that Clad itself
  // calls inside the model-level gradient (kernels/linear.hpp): two GEMMs on
  // LibTorch's BLAS and a column sum. Calling clad::gradient(linear_forward)
  // here would only add a GEMM recomputing the forward output.
  with_float_type(x, [&](auto t) {
    using T = decltype(t);
    namespace cd = clad::custom_derivatives::torchclad::kernels;
    if (input_requires_grad)
      cd::linear_forward_pullback<T>(x.data_ptr<T>(), w.data_ptr<T>(), nullptr, nullptr, m, n, k,
                                     dx.data_ptr<T>(), dw.data_ptr<T>(), db.data_ptr<T>(), dy.data_ptr<T>(),
                                     nullptr, nullptr, nullptr);
    else
      cd::linear_forward_const_input_pullback<T>(x.data_ptr<T>(), w.data_ptr<T>(), nullptr, nullptr, m, n, k,
                                                 dw.data_ptr<T>(), db.data_ptr<T>(), dy.data_ptr<T>(),
                                                 nullptr, nullptr, nullptr);
  });
  return {dx, dw, db};
}

at::Tensor activation(const at::Tensor& x, int64_t kind) {
  constexpr const char* op = "torchclad::activation";
  const Activation act = activation_from_int(kind, op, "kind");
  check_elementwise(x, op, "input");
  auto y = at::empty_like(x);
  with_float_type(x, [&](auto t) {
    using T = decltype(t);
    kernels::activation_forward<T>(act, x.data_ptr<T>(), y.data_ptr<T>(), x.numel());
  });
  return y;
}

at::Tensor activation_backward(const at::Tensor& grad_y, const at::Tensor& x, int64_t kind) {
  constexpr const char* op = "torchclad::activation_backward";
  const Activation act = activation_from_int(kind, op, "kind");
  check_elementwise(x, op, "input");
  TORCH_CHECK(grad_y.sizes() == x.sizes(), op, ": grad_output must have the input's shape ", x.sizes(),
              ", found ", grad_y.sizes());
  auto dy = consumable(grad_y, x);
  auto y = at::empty_like(x);  // Clad's gradient reruns the forward into it
  auto dx = at::zeros_like(x);
  with_float_type(x, [&](auto t) {
    using T = decltype(t);
    grad::activation(act, x.data_ptr<T>(), y.data_ptr<T>(), x.numel(), dx.data_ptr<T>(), dy.data_ptr<T>());
  });
  return dx;
}

at::Tensor cross_entropy(const at::Tensor& logits, const at::Tensor& target) {
  constexpr const char* op = "torchclad::cross_entropy";
  check_input(logits, op, "logits", 2, "[batch, classes]");
  check_nonempty_batch(logits.size(0), op, "logits");
  const auto labels = class_indices(target, logits.size(0), logits.size(1), op);
  return with_float_type(logits, [&](auto t) {
    using T = decltype(t);
    const T loss = kernels::softmax_cross_entropy<T>(logits.data_ptr<T>(), labels.data(), logits.size(0),
                                                     logits.size(1));
    return at::scalar_tensor(loss, logits.options());
  });
}

at::Tensor cross_entropy_backward(const at::Tensor& grad_output, const at::Tensor& logits,
                                  const at::Tensor& target) {
  constexpr const char* op = "torchclad::cross_entropy_backward";
  check_input(logits, op, "logits", 2, "[batch, classes]");
  check_scalar_grad(grad_output, op);
  const auto labels = class_indices(target, logits.size(0), logits.size(1), op);
  auto d_logits = at::zeros_like(logits);
  with_float_type(logits, [&](auto t) {
    using T = decltype(t);
    grad::softmax_cross_entropy(logits.data_ptr<T>(), labels.data(), logits.size(0), logits.size(1),
                                d_logits.data_ptr<T>());
  });
  return d_logits.mul_(grad_output.to(logits.scalar_type()));
}

at::Tensor mse_loss(const at::Tensor& input, const at::Tensor& target) {
  constexpr const char* op = "torchclad::mse_loss";
  check_elementwise(input, op, "input");
  check_elementwise(target, op, "target");
  check_same_dtype(target, input, op, "target", "input");
  TORCH_CHECK(input.sizes() == target.sizes(), op, ": target must have the input's shape ", input.sizes(),
              ", found ", target.sizes());
  TORCH_CHECK(input.numel() > 0, op, ": input is empty; expected at least one value");
  return with_float_type(input, [&](auto t) {
    using T = decltype(t);
    const T loss = kernels::mse<T>(input.data_ptr<T>(), target.data_ptr<T>(), input.numel());
    return at::scalar_tensor(loss, input.options());
  });
}

std::tuple<at::Tensor, at::Tensor> mse_loss_backward(const at::Tensor& grad_output, const at::Tensor& input,
                                                     const at::Tensor& target) {
  constexpr const char* op = "torchclad::mse_loss_backward";
  check_elementwise(input, op, "input");
  check_elementwise(target, op, "target");
  check_same_dtype(target, input, op, "target", "input");
  check_scalar_grad(grad_output, op);
  auto d_input = at::zeros_like(input), d_target = at::zeros_like(target);
  with_float_type(input, [&](auto t) {
    using T = decltype(t);
    grad::mse(input.data_ptr<T>(), target.data_ptr<T>(), input.numel(), d_input.data_ptr<T>(),
              d_target.data_ptr<T>());
  });
  const auto g = grad_output.to(input.scalar_type());
  return {d_input.mul_(g), d_target.mul_(g)};
}

namespace {

// Checks shared by the model-level operators; returns the built-in Mlp
// definition of these widths and activation, which they run.
std::shared_ptr<define::Definition> check_mlp(const at::Tensor& x, const at::Tensor& params,
                                              at::IntArrayRef widths, Activation act, const char* op) {
  check_input(x, op, "input", 2, "[batch, in_features]");
  check_input(params, op, "params", 1, "[parameter count] (W_0, b_0, W_1, b_1, ... flattened)");
  const int64_t max_widths = max_mlp_layers() + 1;
  TORCH_CHECK(widths.size() >= 2 && static_cast<int64_t>(widths.size()) <= max_widths, op,
              ": widths must list 2 to ", max_widths, " sizes (input, hidden..., output), found ",
              widths.size(), ": ", widths);
  for (int64_t w : widths) {
    TORCH_CHECK(w >= 1, op, ": every width must be at least 1, found ", w, " in ", widths);
    TORCH_CHECK(w < (int64_t{1} << 30), op, ": every width must be below 2^30, found ", w, " in ", widths);
  }
  check_same_dtype(params, x, op, "params", "input");
  check_nonempty_batch(x.size(0), op, "input");
  check_size(x, 1, widths[0], op, "input", "widths[0]");
  // The blocks index one layer's activations [batch, width] with an int.
  for (int64_t w : widths)
    TORCH_CHECK(x.size(0) * w <= std::numeric_limits<int>::max(), op, ": widths ", widths, " at batch ",
                x.size(0), " need a layer past 2^31 - 1 values");
  TORCH_CHECK(x.scalar_type() == at::kDouble || widths.back() <= (int64_t{1} << 24), op,
              ": float32 holds the class indices exactly up to 2^24 classes, found ", widths.back());
  // W_l [widths[l+1], widths[l]] then b_l [widths[l+1]], layer after layer.
  int64_t count = 0;
  for (size_t l = 0; l + 1 < widths.size(); ++l) {
    int64_t layer = 0;
    TORCH_CHECK(!__builtin_mul_overflow(widths[l] + 1, widths[l + 1], &layer) &&
                    !__builtin_add_overflow(count, layer, &count),
                op, ": widths ", widths, " have more than 2^63 parameters");
  }
  check_size(params, 0, count, op, "params", "the parameter count of these widths");
  auto def = mlp_definition_of(widths, act, op);
  // A definition registered under the built-in's name by other code would
  // lay its parameters out otherwise.
  TORCH_CHECK(def->param_count == count && def->inputs == widths[0] && def->classes == widths.back() &&
                  def->targets == define::Targets::kClassIndex,
              op, ": the definition '", def->name, "' is not the built-in Mlp of widths ", widths);
  return def;
}

// The definition's targets: class indices as T.
template <typename T>
std::vector<T> targets_as(const std::vector<int32_t>& labels) {
  return std::vector<T>(labels.begin(), labels.end());
}

}  // namespace

at::Tensor mlp_cross_entropy(const at::Tensor& x, const at::Tensor& target, const at::Tensor& params,
                             at::IntArrayRef widths, int64_t activation) {
  constexpr const char* op = "torchclad::mlp_cross_entropy";
  const Activation act = activation_from_int(activation, op, "activation");
  const auto def = check_mlp(x, params, widths, act, op);
  const int batch = static_cast<int>(x.size(0));
  const auto labels = class_indices(target, batch, widths.back(), op);
  return with_float_type(x, [&](auto t) {
    using T = decltype(t);
    const auto y = targets_as<T>(labels);
    std::vector<T> acts(static_cast<size_t>(def->acts_per_sample) * batch, T(0));
    const T loss = def->loss_fn<T>()(def->instance.get(), params.data_ptr<T>(), acts.data(), x.data_ptr<T>(),
                                     y.data(), batch);
    return at::scalar_tensor(loss, x.options());
  });
}

std::tuple<at::Tensor, at::Tensor> mlp_cross_entropy_with_grad(const at::Tensor& x, const at::Tensor& target,
                                                               const at::Tensor& params,
                                                               at::IntArrayRef widths, int64_t activation) {
  // Named after the operator users call; this one is its autograd node's forward.
  constexpr const char* op = "torchclad::mlp_cross_entropy";
  const Activation act = activation_from_int(activation, op, "activation");
  const auto def = check_mlp(x, params, widths, act, op);
  const int batch = static_cast<int>(x.size(0));
  const auto labels = class_indices(target, batch, widths.back(), op);
  auto d_params = at::zeros_like(params);
  auto loss = with_float_type(x, [&](auto t) {
    using T = decltype(t);
    const auto y = targets_as<T>(labels);
    // Zero on entry, as the definition's gradient requires (and zero again on return).
    std::vector<T> acts(static_cast<size_t>(def->acts_per_sample) * batch, T(0)), d_acts(acts.size(), T(0));
    const T value = def->grad_fn<T>()(def->instance.get(), params.data_ptr<T>(), acts.data(), x.data_ptr<T>(),
                                      y.data(), batch, d_params.data_ptr<T>(), d_acts.data());
    return at::scalar_tensor(value, x.options());
  });
  return {loss, d_params};
}

}  // namespace torchclad::aten::cpu
