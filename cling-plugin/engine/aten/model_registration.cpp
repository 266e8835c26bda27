// The operator of a registered model definition (define/definition.hpp):
// torchclad::model_loss(name, params, input, target) is the definition's loss
// on a batch; its backward is the definition's Clad gradient. It composes with
// LibTorch code like any operator (a frozen feature extractor before it, a
// penalty after it). CPU, Meta and Autograd kernels.
#include <torch/autograd.h>
#include <torch/library.h>

#include <vector>

#include "aten/checks.hpp"
#include "define/definition.hpp"

namespace torchclad::aten {
namespace {

constexpr const char* kOp = "torchclad::model_loss";

std::shared_ptr<define::Definition> definition(const std::string& name) {
  try {
    return define::find_definition(name);
  } catch (const std::exception& e) {
    TORCH_CHECK(false, kOp, ": ", e.what());
  }
}

void check_arguments(const define::Definition& d, const at::Tensor& params, const at::Tensor& input,
                     const at::Tensor& target) {
  TORCH_CHECK(*d.alive, kOp, ": the definition of model '", d.name, "' was replaced or unloaded");
  check_input(params, kOp, "params", 1, "[parameters]");
  check_size(params, 0, d.param_count, kOp, "params", "the definition's parameter count");
  check_input(input, kOp, "input", 2, "[batch, inputs]");
  check_same_dtype(input, params, kOp, "input", "params");
  check_same_device(input, params, kOp, "input", "params");
  check_size(input, 1, d.inputs, kOp, "input", "the definition's inputs");
  check_nonempty_batch(input.size(0), kOp, "input");
  TORCH_CHECK(target.numel() == input.size(0) * d.target_width, kOp, ": target must hold ", d.target_width,
              " value(s) per sample (", input.size(0) * d.target_width, " values), found ", target.numel());
  check_same_device(target, params, kOp, "target", "params");
}

// Loss and its gradient with respect to params.
template <typename T>
std::tuple<at::Tensor, at::Tensor> loss_with_grad(const define::Definition& d, const at::Tensor& params,
                                                  const at::Tensor& input, const at::Tensor& target) {
  const int n = static_cast<int>(input.size(0));
  auto p = params.contiguous();
  auto x = input.contiguous();
  auto y = target.to(params.scalar_type()).contiguous();
  std::vector<T> acts(static_cast<size_t>(d.acts_per_sample) * n), d_acts(acts.size());
  auto grad = at::zeros_like(p);
  const T loss = d.grad_fn<T>()(d.instance.get(), p.data_ptr<T>(), acts.data(), x.data_ptr<T>(),
                                y.data_ptr<T>(), n, grad.data_ptr<T>(), d_acts.data());
  return {at::scalar_tensor(loss, p.options()), grad};
}

std::tuple<at::Tensor, at::Tensor> cpu_with_grad(const std::string& name, const at::Tensor& params,
                                                 const at::Tensor& input, const at::Tensor& target) {
  const auto d = definition(name);
  check_arguments(*d, params, input, target);
  return params.scalar_type() == at::kDouble ? loss_with_grad<double>(*d, params, input, target)
                                             : loss_with_grad<float>(*d, params, input, target);
}

at::Tensor cpu_loss(const std::string& name, const at::Tensor& params, const at::Tensor& input,
                    const at::Tensor& target) {
  return std::get<0>(cpu_with_grad(name, params, input, target));
}

std::tuple<at::Tensor, at::Tensor> meta_with_grad(const std::string&, const at::Tensor& params,
                                                  const at::Tensor&, const at::Tensor&) {
  return {at::empty({}, params.options()), at::empty_like(params)};
}
at::Tensor meta_loss(const std::string&, const at::Tensor& params, const at::Tensor&, const at::Tensor&) {
  return at::empty({}, params.options());
}

at::Tensor call_with_grad(const std::string& name, const at::Tensor& params, const at::Tensor& input,
                          const at::Tensor& target, at::Tensor* grad) {
  static const auto op =
      c10::Dispatcher::singleton()
          .findSchemaOrThrow("torchclad::model_loss_with_grad", "")
          .typed<std::tuple<at::Tensor, at::Tensor>(const std::string&, const at::Tensor&, const at::Tensor&,
                                                    const at::Tensor&)>();
  auto [loss, g] = op.call(name, params, input, target);
  *grad = g;
  return loss;
}

// Forward: loss and gradient in one Clad call; backward: grad_output times it.
struct ModelLossFunction : torch::autograd::Function<ModelLossFunction> {
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const std::string& name,
                            const at::Tensor& params, const at::Tensor& input, const at::Tensor& target) {
    at::AutoDispatchBelowADInplaceOrView below_autograd;
    at::Tensor grad;
    auto loss = call_with_grad(name, params, input, target, &grad);
    ctx->save_for_backward({grad});
    return loss;
  }
  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    TORCH_CHECK(!at::GradMode::is_enabled(), kOp,
                ": double backward (create_graph=True) is not supported; its backward is a Clad "
                "gradient without a derivative of its own");
    TORCH_CHECK(!ctx->needs_input_grad(2), kOp,
                ": the gradient with respect to the input is not computed (only params')");
    return {at::Tensor(), grads[0] * ctx->get_saved_variables()[0], at::Tensor(), at::Tensor()};
  }
};

at::Tensor autograd_loss(const std::string& name, const at::Tensor& params, const at::Tensor& input,
                         const at::Tensor& target) {
  return ModelLossFunction::apply(name, params, input, target);
}

}  // namespace
}  // namespace torchclad::aten

TORCH_LIBRARY_FRAGMENT(torchclad, m) {
  m.def("model_loss(str name, Tensor params, Tensor input, Tensor target) -> Tensor");
  m.def("model_loss_with_grad(str name, Tensor params, Tensor input, Tensor target) -> (Tensor, Tensor)");
}
TORCH_LIBRARY_IMPL(torchclad, CPU, m) {
  m.impl("model_loss", &torchclad::aten::cpu_loss);
  m.impl("model_loss_with_grad", &torchclad::aten::cpu_with_grad);
}
TORCH_LIBRARY_IMPL(torchclad, Meta, m) {
  m.impl("model_loss", &torchclad::aten::meta_loss);
  m.impl("model_loss_with_grad", &torchclad::aten::meta_with_grad);
}
TORCH_LIBRARY_IMPL(torchclad, Autograd, m) { m.impl("model_loss", &torchclad::aten::autograd_loss); }
