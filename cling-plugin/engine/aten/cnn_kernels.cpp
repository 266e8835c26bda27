// CPU and Meta kernels of the CNN operators.
#include "aten/cnn_kernels.hpp"

#include <ATen/Parallel.h>

#include <vector>

#include "aten/checks.hpp"
#include "gradients/gradients.hpp"
#include "kernels/binary_losses.hpp"
#include "kernels/blas.hpp"
#include "kernels/conv1d.hpp"
#include "kernels/parallel.hpp"
#include "kernels/pooling.hpp"

namespace torchclad::aten {
namespace {

template <typename F>
auto with_float_type(const at::Tensor& t, F&& f) {
  return t.scalar_type() == at::kDouble ? f(double{}) : f(float{});
}

void check_conv_args(const at::Tensor& x, const at::Tensor& w, const char* op) {
  check_input(x, op, "input", 3, "[batch, in_channels, length]");
  check_input(w, op, "weight", 3, "[out_channels, in_channels, kernel_size]");
  check_same_dtype(w, x, op, "weight", "input");
  check_nonempty_batch(x.size(0), op, "input");
  check_size(w, 1, x.size(1), op, "weight", "in_channels of the input");
  TORCH_CHECK(w.size(0) >= 1 && w.size(2) >= 1, op,
              ": weight must have at least one output channel and a kernel of at least 1, found "
              "shape ",
              w.sizes());
  TORCH_CHECK(x.size(2) >= w.size(2), op, ": input length ", x.size(2), " is shorter than the kernel size ",
              w.size(2), " (no padding)");
}

void check_pool_args(const at::Tensor& x, int64_t k, const char* op) {
  check_input(x, op, "input", 3, "[batch, channels, length]");
  TORCH_CHECK(k >= 1, op, ": kernel_size must be at least 1, found ", k);
  TORCH_CHECK(x.size(2) >= k, op, ": input length ", x.size(2), " is shorter than kernel_size ", k);
}

void check_bce_args(const at::Tensor& z, const at::Tensor& y, const char* op) {
  check_input(z, op, "logits", z.dim(), "tensor");
  check_input(y, op, "target", y.dim(), "tensor");
  check_same_dtype(y, z, op, "target", "logits");
  TORCH_CHECK(y.sizes() == z.sizes(), op, ": target must have the logits' shape ", z.sizes(), ", found ",
              y.sizes());
  TORCH_CHECK(z.numel() >= 1, op, ": logits is empty; expected at least one value");
}

}  // namespace

namespace cpu {

// Each sample's [in_channels, length] block is the kernel's channel-major
// layout with a batch of 1, so the operator runs the model-level kernel
// sample by sample on PyTorch's layout, without transposes.
at::Tensor conv1d(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  constexpr const char* op = "torchclad::conv1d";
  check_conv_args(x, w, op);
  check_input(b, op, "bias", 1, "[out_channels]");
  check_same_dtype(b, x, op, "bias", "input");
  check_size(b, 0, w.size(0), op, "bias", "out_channels of the weight");
  const int n = x.size(0), cin = x.size(1), lin = x.size(2), cout = w.size(0), k = w.size(2);
  const int lout = lin - k + 1;
  auto y = at::empty({n, cout, lout}, x.options());
  // Samples in parallel over LibTorch's threads, the BLAS sequential on each.
  with_float_type(x, [&](auto t) {
    using T = decltype(t);
    const int threads = at::get_num_threads(), parts = std::min(threads, n);
    kernels::parallel_parts(parts, threads, [&](int p) {
      blas::SequentialScope sequential;
      std::vector<T> col(kernels::conv1d_col_size(1, cin, k, lout));
      for (int64_t s = int64_t{n} * p / parts; s < int64_t{n} * (p + 1) / parts; ++s)
        kernels::conv1d_forward<T>(x.data_ptr<T>() + s * cin * lin, w.data_ptr<T>(), b.data_ptr<T>(),
                                   y.data_ptr<T>() + s * cout * lout, col.data(), 1, cin, lin, cout, k);
    });
  });
  return y;
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> conv1d_backward(const at::Tensor& grad_y, const at::Tensor& x,
                                                               const at::Tensor& w,
                                                               bool input_requires_grad) {
  constexpr const char* op = "torchclad::conv1d_backward";
  check_conv_args(x, w, op);
  const int n = x.size(0), cin = x.size(1), lin = x.size(2), cout = w.size(0), k = w.size(2);
  const int lout = lin - k + 1;
  TORCH_CHECK(grad_y.dim() == 3 && grad_y.size(0) == n && grad_y.size(1) == cout && grad_y.size(2) == lout,
              op, ": grad_output must be [", n, ", ", cout, ", ", lout, "], found ", grad_y.sizes());
  auto dy = grad_y.to(x.scalar_type()).contiguous();
  auto dx = input_requires_grad ? at::zeros_like(x) : at::empty({0}, x.options());
  // The hand-written pullback that Clad calls inside the model-level
  // gradient (kernels/conv1d.hpp), sample by sample; the samples split into
  // one part per thread, each with its own dw and db, summed at the end.
  const int64_t parts = std::max<int64_t>(1, std::min<int64_t>(at::get_num_threads(), n));
  auto dw_parts = at::zeros({parts, cout, cin, k}, x.options());
  auto db_parts = at::zeros({parts, cout}, x.options());
  with_float_type(x, [&](auto t) {
    using T = decltype(t);
    kernels::parallel_parts(static_cast<int>(parts), static_cast<int>(parts), [&](int p) {
      blas::SequentialScope sequential;
      std::vector<T> col(kernels::conv1d_col_size(1, cin, k, lout));
      for (int64_t s = n * p / parts; s < n * (p + 1) / parts; ++s)
        kernels::conv1d_backward<T>(
            x.data_ptr<T>() + s * cin * lin, w.data_ptr<T>(), dy.data_ptr<T>() + s * cout * lout, col.data(),
            1, cin, lin, cout, k, input_requires_grad ? dx.data_ptr<T>() + s * cin * lin : nullptr,
            dw_parts.data_ptr<T>() + p * cout * cin * k, db_parts.data_ptr<T>() + p * cout);
    });
  });
  return {dx, dw_parts.sum(0), db_parts.sum(0)};
}

at::Tensor max_pool1d(const at::Tensor& x, int64_t kernel_size) {
  constexpr const char* op = "torchclad::max_pool1d";
  check_pool_args(x, kernel_size, op);
  auto y = at::empty({x.size(0), x.size(1), x.size(2) / kernel_size}, x.options());
  with_float_type(x, [&](auto t) {
    using T = decltype(t);
    kernels::max_pool1d_forward<T>(x.data_ptr<T>(), y.data_ptr<T>(), x.size(0) * x.size(1), x.size(2),
                                   kernel_size);
  });
  return y;
}

at::Tensor max_pool1d_backward(const at::Tensor& grad_y, const at::Tensor& x, const at::Tensor& y,
                               int64_t kernel_size) {
  constexpr const char* op = "torchclad::max_pool1d_backward";
  check_pool_args(x, kernel_size, op);
  const std::vector<int64_t> out_shape{x.size(0), x.size(1), x.size(2) / kernel_size};
  check_input(y, op, "output", 3, "[batch, channels, length / kernel_size]");
  check_same_dtype(y, x, op, "output", "input");
  const at::IntArrayRef expected(out_shape);
  TORCH_CHECK(y.sizes() == expected, op, ": output must be ", expected, " (the forward's result), found ",
              y.sizes());
  TORCH_CHECK(grad_y.sizes() == expected, op, ": grad_output must be ", expected, ", found ", grad_y.sizes());
  auto dy = grad_y.to(x.scalar_type()).contiguous();
  auto dx = at::zeros_like(x);
  with_float_type(x, [&](auto t) {
    using T = decltype(t);
    kernels::max_pool1d_backward<T>(x.data_ptr<T>(), y.data_ptr<T>(), dy.data_ptr<T>(), dx.data_ptr<T>(),
                                    x.size(0) * x.size(1), x.size(2), kernel_size);
  });
  return dx;
}

at::Tensor bce_with_logits(const at::Tensor& z, const at::Tensor& y) {
  constexpr const char* op = "torchclad::bce_with_logits";
  check_bce_args(z, y, op);
  return with_float_type(z, [&](auto t) {
    using T = decltype(t);
    const T loss = kernels::binary_cross_entropy_with_logits<T>(z.data_ptr<T>(), y.data_ptr<T>(), z.numel());
    return at::scalar_tensor(loss, z.options());
  });
}

std::tuple<at::Tensor, at::Tensor> bce_with_logits_backward(const at::Tensor& grad_output,
                                                            const at::Tensor& z, const at::Tensor& y) {
  constexpr const char* op = "torchclad::bce_with_logits_backward";
  check_bce_args(z, y, op);
  TORCH_CHECK(grad_output.numel() == 1, op,
              ": grad_output must hold one value (the loss's gradient), found shape ", grad_output.sizes());
  auto dz = at::zeros_like(z), dy = at::zeros_like(y);
  with_float_type(z, [&](auto t) {
    using T = decltype(t);
    grad::binary_cross_entropy_with_logits(z.data_ptr<T>(), y.data_ptr<T>(), z.numel(), dz.data_ptr<T>(),
                                           dy.data_ptr<T>());
  });
  const auto g = grad_output.to(z.scalar_type()).reshape({});
  return {dz.mul_(g), dy.mul_(g)};
}

}  // namespace cpu

namespace meta {

at::Tensor conv1d(const at::Tensor& x, const at::Tensor& w, const at::Tensor& b) {
  TORCH_CHECK(x.dim() == 3 && w.dim() == 3 && b.dim() == 1,
              "torchclad::conv1d: expected input [batch, in, length], weight [out, in, k], bias [out]");
  check_same_device(w, x, "torchclad::conv1d", "weight", "input");
  check_same_device(b, x, "torchclad::conv1d", "bias", "input");
  return at::empty_symint({x.sym_size(0), w.sym_size(0), x.sym_size(2) - w.sym_size(2) + 1}, x.options());
}

std::tuple<at::Tensor, at::Tensor, at::Tensor> conv1d_backward(const at::Tensor&, const at::Tensor& x,
                                                               const at::Tensor& w,
                                                               bool input_requires_grad) {
  auto dx = input_requires_grad ? at::empty_like(x) : at::empty({0}, x.options());
  return {dx, at::empty_like(w), at::empty_symint({w.sym_size(0)}, w.options())};
}

at::Tensor max_pool1d(const at::Tensor& x, int64_t kernel_size) {
  TORCH_CHECK(x.dim() == 3 && kernel_size >= 1,
              "torchclad::max_pool1d: expected input [batch, channels, length] and kernel_size >= 1");
  return at::empty_symint({x.sym_size(0), x.sym_size(1), x.sym_size(2) / kernel_size}, x.options());
}

at::Tensor max_pool1d_backward(const at::Tensor&, const at::Tensor& x, const at::Tensor&, int64_t) {
  return at::empty_like(x);
}

at::Tensor bce_with_logits(const at::Tensor& z, const at::Tensor& y) {
  check_same_device(y, z, "torchclad::bce_with_logits", "target", "logits");
  return at::empty({}, z.options());
}

std::tuple<at::Tensor, at::Tensor> bce_with_logits_backward(const at::Tensor&, const at::Tensor& z,
                                                            const at::Tensor& y) {
  return {at::empty_like(z), at::empty_like(y)};
}

}  // namespace meta
}  // namespace torchclad::aten
