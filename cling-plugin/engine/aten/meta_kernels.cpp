// Meta kernels: output shapes and dtypes only, with symbolic sizes, so that
// FakeTensor tracing (torch.compile, torch.library.opcheck) runs the
// operators without data.
#include "aten/checks.hpp"
#include "aten/kernels.hpp"

namespace torchclad::aten::meta {
namespace {
at::Tensor scalar_like(const at::Tensor& t) { return at::empty({}, t.options()); }
}  // namespace

at::Tensor linear(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  TORCH_CHECK(x.dim() == 2 && w.dim() == 2 && b.dim() == 1,
              "torchclad::linear: expected input [batch, in], weight [out, in], bias [out]");
  check_same_device(w, x, "torchclad::linear", "weight", "input");
  check_same_device(b, x, "torchclad::linear", "bias", "input");
  return at::empty_symint({x.sym_size(0), w.sym_size(0)}, x.options());
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> linear_backward(const at::Tensor&, const at::Tensor& x,
                                                               const at::Tensor& w,
                                                               bool input_requires_grad) {
  auto dx = input_requires_grad ? at::empty_like(x) : at::empty({0}, x.options());
  return {dx, at::empty_like(w), at::empty_symint({w.sym_size(0)}, w.options())};
}

at::Tensor activation(const at::Tensor& x, int64_t) { return at::empty_like(x); }

at::Tensor activation_backward(const at::Tensor&, const at::Tensor& x, int64_t) { return at::empty_like(x); }

at::Tensor cross_entropy(const at::Tensor& logits, const at::Tensor& target) {
  check_same_device(target, logits, "torchclad::cross_entropy", "target", "logits");
  return scalar_like(logits);
}

at::Tensor cross_entropy_backward(const at::Tensor&, const at::Tensor& logits, const at::Tensor&) {
  return at::empty_like(logits);
}

at::Tensor mse_loss(const at::Tensor& input, const at::Tensor& target) {
  check_same_device(target, input, "torchclad::mse_loss", "target", "input");
  return scalar_like(input);
}

std::tuple<at::Tensor, at::Tensor> mse_loss_backward(const at::Tensor&, const at::Tensor& input,
                                                     const at::Tensor& target) {
  return {at::empty_like(input), at::empty_like(target)};
}

at::Tensor mlp_cross_entropy(const at::Tensor& x, const at::Tensor& target, const at::Tensor& params,
                             at::IntArrayRef, int64_t) {
  check_same_device(target, x, "torchclad::mlp_cross_entropy", "target", "input");
  check_same_device(params, x, "torchclad::mlp_cross_entropy", "params", "input");
  return scalar_like(x);
}

std::tuple<at::Tensor, at::Tensor> mlp_cross_entropy_with_grad(const at::Tensor& x, const at::Tensor& target,
                                                               const at::Tensor& params, at::IntArrayRef,
                                                               int64_t) {
  check_same_device(target, x, "torchclad::mlp_cross_entropy_with_grad", "target", "input");
  check_same_device(params, x, "torchclad::mlp_cross_entropy_with_grad", "params", "input");
  return {scalar_like(x), at::empty_like(params)};
}

}  // namespace torchclad::aten::meta
