// torchclad/nn_onnx.h: building blocks for the operators of imported models
// (ONNX / TorchScript): Conv2d, pooling with stride and padding, LeakyReLU,
// Softmax, LogSoftmax, BatchNorm, broadcasting Add/Sub/Mul, Concat; and the
// constants (nn::Const) that hold what is not trained. Included by nn.h;
// the same rules apply (handles by value, each block a custom pullback, checks
// that build their message only when they fail).
//
// Layouts: an activation after a Linear is batch-major [n, width];
// convolution and pooling activations are channel-major [channels, n, h, w],
// so one GEMM covers the batch; the input batch x is PyTorch's [n, c, h, w].
// nn::flatten(a, x, y, channels, n) turns [C, n, H, W] into [n, C*H*W], the
// order of torch.flatten(x, 1).
#ifndef TORCHCLAD_NN_ONNX_H
#define TORCHCLAD_NN_ONNX_H
#pragma GCC system_header

#include "kernels/conv2d.hpp"
#include "kernels/pool2d.hpp"

namespace torchclad::nn {

// ---- Handles.

// Conv2d options (a C++17 aggregate, positional). padding_bottom/right -1: as
// padding_h/w (ONNX's pads may differ at the end); bias false: no name.bias.
struct Conv2dOptions {
  int stride_h = 1, stride_w = 1, padding_h = 0, padding_w = 0, dilation_h = 1, dilation_w = 1;
  int padding_bottom = -1, padding_right = -1;
  bool bias = true;
};

// torch.nn.Conv2d(cin, cout, (kh, kw), stride, padding, dilation) on inputs
// of h x w values per channel: name.weight [cout, cin, kh, kw], name.bias
// [cout], PyTorch's initialisation. Output [cout, n, hout, wout].
struct Conv2d {
  long w = -1, b = -1;
  int cin = 0, cout = 0, kh = 0, kw = 0, hin = 0, win = 0, hout = 0, wout = 0, id = -1;
  int sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
  long col = -1;  // its im2col scratch in the activation buffer
  Conv2d() = default;
  Conv2d(const std::string& name, int cin, int cout, int kh, int kw, int h, int w,
         Conv2dOptions opt = {}) {
    auto& d = detail::current("Conv2d");
    const int pb = opt.padding_bottom < 0 ? opt.padding_h : opt.padding_bottom;
    const int pr = opt.padding_right < 0 ? opt.padding_w : opt.padding_right;
    const bool ok = cin >= 1 && cout >= 1 && kh >= 1 && kw >= 1 && opt.stride_h >= 1 &&
                    opt.stride_w >= 1 && opt.dilation_h >= 1 && opt.dilation_w >= 1 &&
                    opt.padding_h >= 0 && opt.padding_w >= 0 && pb >= 0 && pr >= 0;
    const int ho = ok ? kernels::conv_out_size(h, kh, opt.stride_h, opt.padding_h, pb, opt.dilation_h) : 0;
    const int wo = ok ? kernels::conv_out_size(w, kw, opt.stride_w, opt.padding_w, pr, opt.dilation_w) : 0;
    if (!ok || ho < 1 || wo < 1)
      throw std::invalid_argument(
          "Conv2d '" + name + "': needs channels >= 1, kernel >= 1, stride >= 1, dilation >= 1, "
          "padding >= 0 and a kernel that fits the padded input, found cin " + std::to_string(cin) +
          ", cout " + std::to_string(cout) + ", kernel " + std::to_string(kh) + "x" + std::to_string(kw) +
          ", input " + std::to_string(h) + "x" + std::to_string(w) + ", stride " +
          std::to_string(opt.stride_h) + "x" + std::to_string(opt.stride_w) + ", padding " +
          std::to_string(opt.padding_h) + "," + std::to_string(opt.padding_w) + "," + std::to_string(pb) +
          "," + std::to_string(pr) + ", dilation " + std::to_string(opt.dilation_h) + "x" +
          std::to_string(opt.dilation_w));
    this->cin = cin;
    this->cout = cout;
    this->kh = kh;
    this->kw = kw;
    hin = h;
    win = w;
    hout = ho;
    wout = wo;
    sh = opt.stride_h;
    sw = opt.stride_w;
    ph = opt.padding_h;
    pw = opt.padding_w;
    dh = opt.dilation_h;
    dw = opt.dilation_w;
    id = detail::add_layer(d, name);
    const int64_t fan_in = int64_t{cin} * kh * kw, fan_out = int64_t{cout} * kh * kw;
    this->w = detail::add_param(d, name + ".weight", {cout, cin, kh, kw}, Init::kTorchDefault, fan_in, fan_out);
    if (opt.bias) b = detail::add_param(d, name + ".bias", {cout}, Init::kTorchDefault, fan_in, fan_out);
    col = detail::add_act(d, fan_in * ho * wo);
  }
};

// Pooling options (C++17 aggregates). stride 0: the kernel (PyTorch's
// default); padding_end/bottom/right -1: as the start padding.
// count_include_pad: average pooling only (false is ONNX's default, true
// PyTorch's). ceil_mode is not supported (an error).
struct PoolOptions {
  int stride = 0, padding = 0, padding_end = -1;
  bool count_include_pad = false;
  bool ceil_mode = false;
};
struct Pool2dOptions {
  int stride_h = 0, stride_w = 0, padding_h = 0, padding_w = 0, padding_bottom = -1, padding_right = -1;
  bool count_include_pad = false;
  bool ceil_mode = false;
};

namespace detail {
// The fields every pooling handle has (1D: h = kh = 1).
struct PoolFields {
  int channels = 0, h = 1, w = 1, kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, hout = 0, wout = 0;
  bool count_include_pad = false;
  int id = -1;
};
inline PoolFields declare_pool(const char* kind, bool average, const std::string& name, int channels,
                               int h, int w, int kh, int kw, Pool2dOptions o) {
  auto& d = current(kind);
  const std::string what = std::string(kind) + " '" + name + "': ";
  if (o.ceil_mode)
    throw std::invalid_argument(what + "ceil_mode is not supported (the output size is floor's)");
  if (!average && o.count_include_pad)
    throw std::invalid_argument(what + "count_include_pad applies to average pooling only");
  const int sh = o.stride_h == 0 ? kh : o.stride_h, sw = o.stride_w == 0 ? kw : o.stride_w;
  const int pb = o.padding_bottom < 0 ? o.padding_h : o.padding_bottom;
  const int pr = o.padding_right < 0 ? o.padding_w : o.padding_right;
  const bool ok = channels >= 1 && h >= 1 && w >= 1 && kh >= 1 && kw >= 1 && sh >= 1 && sw >= 1 &&
                  o.padding_h >= 0 && o.padding_w >= 0 && pb >= 0 && pr >= 0;
  // Every window must hold a real value: padding smaller than the kernel.
  const bool pads_fit = o.padding_h < kh && pb < kh && o.padding_w < kw && pr < kw;
  const int ho = ok ? kernels::conv_out_size(h, kh, sh, o.padding_h, pb, 1) : 0;
  const int wo = ok ? kernels::conv_out_size(w, kw, sw, o.padding_w, pr, 1) : 0;
  if (!ok || !pads_fit || ho < 1 || wo < 1)
    throw std::invalid_argument(
        what + "needs channels >= 1, kernel >= 1, stride >= 1 (0: the kernel), 0 <= padding < kernel "
        "and a kernel that fits the padded input, found channels " + std::to_string(channels) +
        ", input " + std::to_string(h) + "x" + std::to_string(w) + ", kernel " + std::to_string(kh) +
        "x" + std::to_string(kw) + ", stride " + std::to_string(sh) + "x" + std::to_string(sw) +
        ", padding " + std::to_string(o.padding_h) + "," + std::to_string(o.padding_w) + "," +
        std::to_string(pb) + "," + std::to_string(pr));
  PoolFields f;
  f.channels = channels;
  f.h = h;
  f.w = w;
  f.kh = kh;
  f.kw = kw;
  f.sh = sh;
  f.sw = sw;
  f.ph = o.padding_h;
  f.pw = o.padding_w;
  f.hout = ho;
  f.wout = wo;
  f.count_include_pad = o.count_include_pad;
  f.id = add_layer(d, name);
  return f;
}
inline Pool2dOptions as_2d(PoolOptions o) {
  Pool2dOptions p;
  p.stride_w = o.stride;
  p.padding_w = o.padding;
  p.padding_right = o.padding_end;
  p.count_include_pad = o.count_include_pad;
  p.ceil_mode = o.ceil_mode;
  return p;
}
}  // namespace detail

// torch.nn.MaxPool1d / AvgPool1d(kernel, stride, padding) over [channels, n,
// length] -> [channels, n, lout]; MaxPool2d / AvgPool2d over [channels, n, h,
// w] -> [channels, n, hout, wout]. Layers without parameters: the handle
// holds the geometry, checked against the activations at registration.
struct MaxPool1d : detail::PoolFields {
  int lout = 0;
  MaxPool1d() = default;
  MaxPool1d(const std::string& name, int channels, int length, int kernel, PoolOptions opt = {})
      : detail::PoolFields(detail::declare_pool("MaxPool1d", false, name, channels, 1, length, 1, kernel,
                                                detail::as_2d(opt))) {
    lout = wout;
  }
};
struct AvgPool1d : detail::PoolFields {
  int lout = 0;
  AvgPool1d() = default;
  AvgPool1d(const std::string& name, int channels, int length, int kernel, PoolOptions opt = {})
      : detail::PoolFields(detail::declare_pool("AvgPool1d", true, name, channels, 1, length, 1, kernel,
                                                detail::as_2d(opt))) {
    lout = wout;
  }
};
struct MaxPool2d : detail::PoolFields {
  MaxPool2d() = default;
  MaxPool2d(const std::string& name, int channels, int h, int w, int kh, int kw, Pool2dOptions opt = {})
      : detail::PoolFields(detail::declare_pool("MaxPool2d", false, name, channels, h, w, kh, kw, opt)) {}
};
struct AvgPool2d : detail::PoolFields {
  AvgPool2d() = default;
  AvgPool2d(const std::string& name, int channels, int h, int w, int kh, int kw, Pool2dOptions opt = {})
      : detail::PoolFields(detail::declare_pool("AvgPool2d", true, name, channels, h, w, kh, kw, opt)) {}
};

// ---- Convolution and pooling blocks.

namespace detail {
inline kernels::Conv2dShape conv2d_shape(const Conv2d& c, bool batch_major) {
  kernels::Conv2dShape s;
  s.cin = c.cin;
  s.h = c.hin;
  s.w = c.win;
  s.cout = c.cout;
  s.kh = c.kh;
  s.kw = c.kw;
  s.sh = c.sh;
  s.sw = c.sw;
  s.ph = c.ph;
  s.pw = c.pw;
  s.dh = c.dh;
  s.dw = c.dw;
  s.hout = c.hout;
  s.wout = c.wout;
  s.batch_major_input = batch_major;
  return s;
}
inline void check_conv2d_output(const Conv2d& c, const Act& y) {
  TORCHCLAD_NN_NEED(c.id >= 0, c.id, "a Conv2d layer is used before it is declared");
  declared(y, c.id, "the output");
  TORCHCLAD_NN_NEED(y.width == c.cout * c.hout * c.wout, c.id,
                    "output activation has width " + str(y.width) + ", the layer gives " + str(c.cout) +
                        " x " + str(c.hout) + " x " + str(c.wout));
}
inline kernels::Pool2dShape pool_shape(const PoolFields& f) {
  kernels::Pool2dShape s;
  s.h = f.h;
  s.w = f.w;
  s.kh = f.kh;
  s.kw = f.kw;
  s.sh = f.sh;
  s.sw = f.sw;
  s.ph = f.ph;
  s.pw = f.pw;
  s.hout = f.hout;
  s.wout = f.wout;
  s.count_include_pad = f.count_include_pad;
  return s;
}
inline void check_pool(const PoolFields& f, const Act& x, const Act& y, const char* kind) {
  TORCHCLAD_NN_NEED(f.id >= 0, f.id, std::string("a ") + kind + " layer is used before it is declared");
  declared(x, f.id, "the input");
  declared(y, f.id, "the output");
  TORCHCLAD_NN_NEED(x.width == f.channels * f.h * f.w, f.id,
                    "input has width " + str(x.width) + ", the layer expects " + str(f.channels) + " x " +
                        (f.h > 1 ? str(f.h) + " x " : std::string()) + str(f.w));
  TORCHCLAD_NN_NEED(y.width == f.channels * f.hout * f.wout, f.id,
                    "output activation has width " + str(y.width) + ", the layer gives " + str(f.channels) +
                        " x " + (f.h > 1 ? str(f.hout) + " x " : std::string()) + str(f.wout));
  writes(y, f.id);
}
}  // namespace detail

// Conv2d on the input batch x [n, cin, h, w]: y [cout, n, hout, wout].
template <typename T>
void conv2d(Conv2d c, const T* p, const T* x, T* a, Act y, int n) {
  if (detail::replaying()) return;
  detail::check_conv2d_output(c, y);
  detail::reads_input(c.cin * c.hin * c.win, c.id);
  detail::writes(y, c.id);
  kernels::conv2d_forward(x, p + c.w, detail::bias_or_null(p, c.b), a + long{n} * y.off,
                          a + long{n} * c.col, n, detail::conv2d_shape(c, true));
}
// Conv2d on an activation x [cin, n, h, w].
template <typename T>
void conv2d(Conv2d c, const T* p, T* a, Act x, Act y, int n) {
  if (detail::replaying()) return;
  detail::check_conv2d_output(c, y);
  detail::declared(x, c.id, "the input");
  TORCHCLAD_NN_NEED(x.width == c.cin * c.hin * c.win, c.id,
                    "input has width " + detail::str(x.width) + ", the layer expects " + detail::str(c.cin) +
                        " x " + detail::str(c.hin) + " x " + detail::str(c.win));
  detail::writes(y, c.id);
  kernels::conv2d_forward(a + long{n} * x.off, p + c.w, detail::bias_or_null(p, c.b), a + long{n} * y.off,
                          a + long{n} * c.col, n, detail::conv2d_shape(c, false));
}

template <typename T>
void max_pool1d(MaxPool1d pool, T* a, Act x, Act y, int n) {
  if (detail::replaying()) return;
  detail::check_pool(pool, x, y, "MaxPool1d");
  kernels::max_pool2d_forward(a + long{n} * x.off, a + long{n} * y.off, long{pool.channels} * n,
                              detail::pool_shape(pool));
}
template <typename T>
void avg_pool1d(AvgPool1d pool, T* a, Act x, Act y, int n) {
  if (detail::replaying()) return;
  detail::check_pool(pool, x, y, "AvgPool1d");
  kernels::avg_pool2d_forward(a + long{n} * x.off, a + long{n} * y.off, long{pool.channels} * n,
                              detail::pool_shape(pool));
}
template <typename T>
void max_pool2d(MaxPool2d pool, T* a, Act x, Act y, int n) {
  if (detail::replaying()) return;
  detail::check_pool(pool, x, y, "MaxPool2d");
  kernels::max_pool2d_forward(a + long{n} * x.off, a + long{n} * y.off, long{pool.channels} * n,
                              detail::pool_shape(pool));
}
template <typename T>
void avg_pool2d(AvgPool2d pool, T* a, Act x, Act y, int n) {
  if (detail::replaying()) return;
  detail::check_pool(pool, x, y, "AvgPool2d");
  kernels::avg_pool2d_forward(a + long{n} * x.off, a + long{n} * y.off, long{pool.channels} * n,
                              detail::pool_shape(pool));
}

}  // namespace torchclad::nn

// ---- Pullbacks.
namespace clad::custom_derivatives::torchclad::nn {
namespace tn = ::torchclad::nn;
namespace tk = ::torchclad::kernels;

namespace detail {
// dy = 0 after a block's backward pass: the block overwrote y.
template <typename T>
void clear(T* dy, long count) {
  for (long i = 0; i < count; ++i) dy[i] = T(0);
}
}  // namespace detail

template <typename T>
void conv2d_pullback(tn::Conv2d c, const T* p, const T* x, T* a, tn::Act y, int n, tn::Conv2d*,
                     T* d_p, T* d_a, tn::Act*, int*) {
  T* dy = d_a + long{n} * y.off;
  tk::conv2d_backward<T>(x, p + c.w, dy, a + long{n} * c.col, n, tn::detail::conv2d_shape(c, true), nullptr,
                         d_p + c.w, tn::detail::bias_or_null(d_p, c.b));
  detail::clear(dy, long{n} * y.width);
}
template <typename T>
void conv2d_pullback(tn::Conv2d c, const T* p, T* a, tn::Act x, tn::Act y, int n, tn::Conv2d*,
                     T* d_p, T* d_a, tn::Act*, tn::Act*, int*) {
  T* dy = d_a + long{n} * y.off;
  tk::conv2d_backward<T>(a + long{n} * x.off, p + c.w, dy, a + long{n} * c.col, n,
                         tn::detail::conv2d_shape(c, false), d_a + long{n} * x.off, d_p + c.w,
                         tn::detail::bias_or_null(d_p, c.b));
  detail::clear(dy, long{n} * y.width);
}

template <typename T>
void max_pool1d_pullback(tn::MaxPool1d pool, T* a, tn::Act x, tn::Act y, int n, tn::MaxPool1d*, T* d_a,
                         tn::Act*, tn::Act*, int*) {
  tk::max_pool2d_backward<T>(a + long{n} * x.off, d_a + long{n} * y.off, d_a + long{n} * x.off,
                             long{pool.channels} * n, tn::detail::pool_shape(pool));
  detail::clear(d_a + long{n} * y.off, long{n} * y.width);
}
template <typename T>
void avg_pool1d_pullback(tn::AvgPool1d pool, T* a, tn::Act x, tn::Act y, int n, tn::AvgPool1d*, T* d_a,
                         tn::Act*, tn::Act*, int*) {
  tk::avg_pool2d_backward<T>(d_a + long{n} * y.off, d_a + long{n} * x.off, long{pool.channels} * n,
                             tn::detail::pool_shape(pool));
  detail::clear(d_a + long{n} * y.off, long{n} * y.width);
}
template <typename T>
void max_pool2d_pullback(tn::MaxPool2d pool, T* a, tn::Act x, tn::Act y, int n, tn::MaxPool2d*, T* d_a,
                         tn::Act*, tn::Act*, int*) {
  tk::max_pool2d_backward<T>(a + long{n} * x.off, d_a + long{n} * y.off, d_a + long{n} * x.off,
                             long{pool.channels} * n, tn::detail::pool_shape(pool));
  detail::clear(d_a + long{n} * y.off, long{n} * y.width);
}
template <typename T>
void avg_pool2d_pullback(tn::AvgPool2d pool, T* a, tn::Act x, tn::Act y, int n, tn::AvgPool2d*, T* d_a,
                         tn::Act*, tn::Act*, int*) {
  tk::avg_pool2d_backward<T>(d_a + long{n} * y.off, d_a + long{n} * x.off, long{pool.channels} * n,
                             tn::detail::pool_shape(pool));
  detail::clear(d_a + long{n} * y.off, long{n} * y.width);
}

}  // namespace clad::custom_derivatives::torchclad::nn

#endif  // TORCHCLAD_NN_ONNX_H
