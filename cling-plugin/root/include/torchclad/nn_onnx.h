// torchclad/nn_onnx.h: building blocks for the operators of imported models
// (ONNX / TorchScript): Conv2d, pooling with stride, padding and ceil_mode,
// adaptive pooling to any output size,
// LeakyReLU, Softmax, LogSoftmax (over any axis of a sample), BatchNorm,
// broadcasting Add/Sub/Mul (with constants, and between activations),
// Permute (Transpose of an activation), Concat; and the
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
#include "kernels/layout.hpp"
#include "kernels/pool2d.hpp"
#include "kernels/softmax.hpp"

namespace torchclad::nn {

// ---- Handles.

// Conv2d options (a C++17 aggregate, positional). padding_bottom/right -1: as
// padding_h/w (ONNX's pads may differ at the end); bias false: no name.bias;
// groups: channels in independent groups (groups = cin: depthwise).
struct Conv2dOptions {
  int stride_h = 1, stride_w = 1, padding_h = 0, padding_w = 0, dilation_h = 1, dilation_w = 1;
  int padding_bottom = -1, padding_right = -1;
  bool bias = true;
  int groups = 1;
};

// torch.nn.Conv2d(cin, cout, (kh, kw), stride, padding, dilation, groups) on
// inputs of h x w values per channel: name.weight [cout, cin / groups, kh, kw], name.bias
// [cout], PyTorch's initialisation. Output [cout, n, hout, wout].
struct Conv2d {
  long w = -1, b = -1;
  int cin = 0, cout = 0, kh = 0, kw = 0, hin = 0, win = 0, hout = 0, wout = 0, id = -1;
  int sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1, groups = 1;
  long col = -1;  // its im2col scratch in the activation buffer
  Conv2d() = default;
  Conv2d(const std::string& name, int cin, int cout, int kh, int kw, int h, int w, Conv2dOptions opt = {}) {
    auto& d = detail::current("Conv2d");
    const int pb = opt.padding_bottom < 0 ? opt.padding_h : opt.padding_bottom;
    const int pr = opt.padding_right < 0 ? opt.padding_w : opt.padding_right;
    const bool ok = cin >= 1 && cout >= 1 && kh >= 1 && kw >= 1 && opt.stride_h >= 1 && opt.stride_w >= 1 &&
                    opt.dilation_h >= 1 && opt.dilation_w >= 1 && opt.padding_h >= 0 && opt.padding_w >= 0 &&
                    pb >= 0 && pr >= 0 && opt.groups >= 1 && cin % opt.groups == 0 && cout % opt.groups == 0;
    const int ho = ok ? kernels::conv_out_size(h, kh, opt.stride_h, opt.padding_h, pb, opt.dilation_h) : 0;
    const int wo = ok ? kernels::conv_out_size(w, kw, opt.stride_w, opt.padding_w, pr, opt.dilation_w) : 0;
    if (!ok || ho < 1 || wo < 1)
      throw std::invalid_argument(
          "Conv2d '" + name +
          "': needs channels >= 1 that the groups divide, kernel >= 1, stride >= 1, "
          "dilation >= 1, padding >= 0 and a kernel that fits the padded input, found groups " +
          std::to_string(opt.groups) + ", cin " + std::to_string(cin) + ", cout " + std::to_string(cout) +
          ", kernel " + std::to_string(kh) + "x" + std::to_string(kw) + ", input " + std::to_string(h) + "x" +
          std::to_string(w) + ", stride " + std::to_string(opt.stride_h) + "x" +
          std::to_string(opt.stride_w) + ", padding " + std::to_string(opt.padding_h) + "," +
          std::to_string(opt.padding_w) + "," + std::to_string(pb) + "," + std::to_string(pr) +
          ", dilation " + std::to_string(opt.dilation_h) + "x" + std::to_string(opt.dilation_w));
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
    groups = opt.groups;
    id = detail::add_layer(d, name);
    const int cg = cin / groups;  // fans as PyTorch computes them from the weight's shape
    const int64_t fan_in = int64_t{cg} * kh * kw, fan_out = int64_t{cout} * kh * kw;
    this->w =
        detail::add_param(d, name + ".weight", {cout, cg, kh, kw}, Init::kTorchDefault, fan_in, fan_out);
    if (opt.bias) b = detail::add_param(d, name + ".bias", {cout}, Init::kTorchDefault, fan_in, fan_out);
    col = detail::add_act(d, int64_t{cin} * kh * kw * ho * wo);
  }
};

// Pooling options (C++17 aggregates). stride 0: the kernel (PyTorch's
// default); padding_end/bottom/right -1: as the start padding.
// count_include_pad: average pooling only (false is ONNX's default, true
// PyTorch's). ceil_mode: the output size rounded up (PyTorch's and ONNX's
// ceil_mode; a last window that would start in the end padding is dropped, as
// PyTorch does), the windows clipped to the input.
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
  int pb = 0, pr = 0;  // bottom and right padding
  bool count_include_pad = false;
  int id = -1;
};
inline PoolFields declare_pool(const char* kind, bool average, const std::string& name, int channels, int h,
                               int w, int kh, int kw, Pool2dOptions o) {
  auto& d = current(kind);
  const std::string what = std::string(kind) + " '" + name + "': ";
  if (!average && o.count_include_pad)
    throw std::invalid_argument(what + "count_include_pad applies to average pooling only");
  const int sh = o.stride_h == 0 ? kh : o.stride_h, sw = o.stride_w == 0 ? kw : o.stride_w;
  const int pb = o.padding_bottom < 0 ? o.padding_h : o.padding_bottom;
  const int pr = o.padding_right < 0 ? o.padding_w : o.padding_right;
  const bool ok = channels >= 1 && h >= 1 && w >= 1 && kh >= 1 && kw >= 1 && sh >= 1 && sw >= 1 &&
                  o.padding_h >= 0 && o.padding_w >= 0 && pb >= 0 && pr >= 0;
  // Every window must hold a real value: padding smaller than the kernel.
  const bool pads_fit = o.padding_h < kh && pb < kh && o.padding_w < kw && pr < kw;
  const int ho = ok ? kernels::pool_out_size(h, kh, sh, o.padding_h, pb, o.ceil_mode) : 0;
  const int wo = ok ? kernels::pool_out_size(w, kw, sw, o.padding_w, pr, o.ceil_mode) : 0;
  if (!ok || !pads_fit || ho < 1 || wo < 1)
    throw std::invalid_argument(
        what +
        "needs channels >= 1, kernel >= 1, stride >= 1 (0: the kernel), 0 <= padding < kernel "
        "and a kernel that fits the padded input, found channels " +
        std::to_string(channels) + ", input " + std::to_string(h) + "x" + std::to_string(w) + ", kernel " +
        std::to_string(kh) + "x" + std::to_string(kw) + ", stride " + std::to_string(sh) + "x" +
        std::to_string(sw) + ", padding " + std::to_string(o.padding_h) + "," + std::to_string(o.padding_w) +
        "," + std::to_string(pb) + "," + std::to_string(pr));
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
  f.pb = pb;
  f.pr = pr;
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
// holds the geometry, checked against the activations at registration. One
// implementation: a 1D pooling is a 2D one of height 1.
enum class Reduction { kMax, kAverage };
template <Reduction R>
struct Pool1d : detail::PoolFields {
  static constexpr const char* kind = R == Reduction::kMax ? "MaxPool1d" : "AvgPool1d";
  int lout = 0;
  Pool1d() = default;
  Pool1d(const std::string& name, int channels, int length, int kernel, PoolOptions opt = {})
      : detail::PoolFields(detail::declare_pool(kind, R == Reduction::kAverage, name, channels, 1, length, 1,
                                                kernel, detail::as_2d(opt))) {
    lout = wout;
  }
};
template <Reduction R>
struct Pool2d : detail::PoolFields {
  static constexpr const char* kind = R == Reduction::kMax ? "MaxPool2d" : "AvgPool2d";
  Pool2d() = default;
  Pool2d(const std::string& name, int channels, int h, int w, int kh, int kw, Pool2dOptions opt = {})
      : detail::PoolFields(
            detail::declare_pool(kind, R == Reduction::kAverage, name, channels, h, w, kh, kw, opt)) {}
};
using MaxPool1d = Pool1d<Reduction::kMax>;
using AvgPool1d = Pool1d<Reduction::kAverage>;
using MaxPool2d = Pool2d<Reduction::kMax>;
using AvgPool2d = Pool2d<Reduction::kAverage>;

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
  s.groups = c.groups;
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
  s.pb = f.pb;
  s.pr = f.pr;
  s.count_include_pad = f.count_include_pad;
  return s;
}
// Any pooling's fields (PoolFields, AdaptiveFields): the activations' widths.
template <class Fields>
void check_pool(const Fields& f, const Act& x, const Act& y, const char* kind) {
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
  kernels::conv2d_forward(x, p + c.w, detail::bias_or_null(p, c.b), a + long{n} * y.off, a + long{n} * c.col,
                          n, detail::conv2d_shape(c, true));
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

namespace detail {
// Max pooling in 1D with windows side by side (stride = kernel, no padding):
// the built-in CNN's kernel (kernels/pooling.hpp: vectorised for windows of
// 2 and 4, the same argmax rule) rather than the general window loop.
inline bool tiled_1d(const PoolFields& f) {
  return f.h == 1 && f.kh == 1 && f.ph == 0 && f.pw == 0 && f.sw == f.kw && f.wout == f.w / f.kw;
}
template <Reduction R, typename T>
void pool_forward(const PoolFields& f, const char* kind, T* a, const Act& x, const Act& y, int n) {
  if (replaying()) return;
  check_pool(f, x, y, kind);
  if (R == Reduction::kMax && tiled_1d(f))
    kernels::max_pool1d_forward(a + long{n} * x.off, a + long{n} * y.off, f.channels * n, f.w, f.kw);
  else if (R == Reduction::kMax)
    kernels::max_pool2d_forward(a + long{n} * x.off, a + long{n} * y.off, long{f.channels} * n,
                                pool_shape(f));
  else
    kernels::avg_pool2d_forward(a + long{n} * x.off, a + long{n} * y.off, long{f.channels} * n,
                                pool_shape(f));
}
}  // namespace detail

// One name per handle (Clad finds each block's pullback by its name).
#define TORCHCLAD_NN_POOL(NAME, HANDLE, REDUCTION, FORWARD)                \
  template <typename T>                                                    \
  void NAME(HANDLE pool, T* a, Act x, Act y, int n) {                      \
    detail::FORWARD<Reduction::REDUCTION>(pool, HANDLE::kind, a, x, y, n); \
  }
TORCHCLAD_NN_POOL(max_pool1d, MaxPool1d, kMax, pool_forward)
TORCHCLAD_NN_POOL(avg_pool1d, AvgPool1d, kAverage, pool_forward)
TORCHCLAD_NN_POOL(max_pool2d, MaxPool2d, kMax, pool_forward)
TORCHCLAD_NN_POOL(avg_pool2d, AvgPool2d, kAverage, pool_forward)

// ---- Adaptive pooling (torch.nn.AdaptiveAvgPool1d/2d, AdaptiveMaxPool1d/2d)
// to any output size: output i of an axis of length L pools PyTorch's window
// [floor(i L / out), ceil((i + 1) L / out)), so when out does not divide L
// the windows differ in size and may overlap (out > L repeats values). The
// importer uses these where out does not divide L (a dividing size is a
// pooling of kernel = stride = L / out, nn::Pool1d / Pool2d).

namespace detail {
// The fields every adaptive pooling handle has (1D: h = hout = 1). Plain ints,
// as Permute's.
struct AdaptiveFields {
  int channels = 0, h = 1, w = 1, hout = 1, wout = 1;
  int id = -1;
};
inline AdaptiveFields declare_adaptive(const char* kind, const std::string& name, int channels, int h, int w,
                                       int hout, int wout) {
  auto& d = current(kind);
  if (channels < 1 || h < 1 || w < 1 || hout < 1 || wout < 1)
    throw std::invalid_argument(
        std::string(kind) + " '" + name + "': needs channels, input and output sizes >= 1, found channels " +
        std::to_string(channels) + ", input " + std::to_string(h) + "x" + std::to_string(w) + ", output " +
        std::to_string(hout) + "x" + std::to_string(wout));
  return AdaptiveFields{channels, h, w, hout, wout, add_layer(d, name)};
}
// PyTorch's window of output (oh, ow): rows [h0, h1), columns [w0, w1).
inline kernels::PoolWindow adaptive_window(const AdaptiveFields& f, int oh, int ow) {
  return {static_cast<int>(long{oh} * f.h / f.hout),
          static_cast<int>((long{oh + 1} * f.h + f.hout - 1) / f.hout),
          static_cast<int>(long{ow} * f.w / f.wout),
          static_cast<int>((long{ow + 1} * f.w + f.wout - 1) / f.wout)};
}
// The plane's row length for kernels::max_pool2d_argmax (the first maximum,
// or the last NaN, as PyTorch's adaptive max pooling).
inline kernels::Pool2dShape adaptive_rows(const AdaptiveFields& f) {
  kernels::Pool2dShape s;
  s.h = f.h;
  s.w = f.w;
  return s;
}
// x [channels, n, h, w] -> y [channels, n, hout, wout]: planes are independent.
template <Reduction R, typename T>
void adaptive_pool_forward(const AdaptiveFields& f, const char* kind, T* a, const Act& x, const Act& y,
                           int n) {
  if (replaying()) return;
  check_pool(f, x, y, kind);
  const long planes = long{f.channels} * n, in = long{f.h} * f.w, out = long{f.hout} * f.wout;
  const kernels::Pool2dShape rows = adaptive_rows(f);
  for (long q = 0; q < planes; ++q) {
    const T* plane = a + long{n} * x.off + q * in;
    T* o = a + long{n} * y.off + q * out;
    for (int oh = 0; oh < f.hout; ++oh)
      for (int ow = 0; ow < f.wout; ++ow) {
        const kernels::PoolWindow win = adaptive_window(f, oh, ow);
        if (R == Reduction::kMax) {
          o[long{oh} * f.wout + ow] = plane[kernels::max_pool2d_argmax(plane, rows, win)];
          continue;
        }
        T sum = T(0);
        for (int i = win.h0; i < win.h1; ++i)
          for (int j = win.w0; j < win.w1; ++j) sum += plane[long{i} * f.w + j];
        o[long{oh} * f.wout + ow] = sum / T((win.h1 - win.h0) * (win.w1 - win.w0));
      }
  }
}
}  // namespace detail

template <Reduction R>
struct AdaptivePool1d : detail::AdaptiveFields {
  static constexpr const char* kind = R == Reduction::kMax ? "AdaptiveMaxPool1d" : "AdaptiveAvgPool1d";
  int lout = 0;
  AdaptivePool1d() = default;
  // Over [channels, n, length] -> [channels, n, output_size].
  AdaptivePool1d(const std::string& name, int channels, int length, int output_size)
      : detail::AdaptiveFields(detail::declare_adaptive(kind, name, channels, 1, length, 1, output_size)) {
    lout = wout;
  }
};
template <Reduction R>
struct AdaptivePool2d : detail::AdaptiveFields {
  static constexpr const char* kind = R == Reduction::kMax ? "AdaptiveMaxPool2d" : "AdaptiveAvgPool2d";
  AdaptivePool2d() = default;
  // Over [channels, n, h, w] -> [channels, n, hout, wout].
  AdaptivePool2d(const std::string& name, int channels, int h, int w, int hout, int wout)
      : detail::AdaptiveFields(detail::declare_adaptive(kind, name, channels, h, w, hout, wout)) {}
};
using AdaptiveMaxPool1d = AdaptivePool1d<Reduction::kMax>;
using AdaptiveAvgPool1d = AdaptivePool1d<Reduction::kAverage>;
using AdaptiveMaxPool2d = AdaptivePool2d<Reduction::kMax>;
using AdaptiveAvgPool2d = AdaptivePool2d<Reduction::kAverage>;

TORCHCLAD_NN_POOL(adaptive_max_pool1d, AdaptiveMaxPool1d, kMax, adaptive_pool_forward)
TORCHCLAD_NN_POOL(adaptive_avg_pool1d, AdaptiveAvgPool1d, kAverage, adaptive_pool_forward)
TORCHCLAD_NN_POOL(adaptive_max_pool2d, AdaptiveMaxPool2d, kMax, adaptive_pool_forward)
TORCHCLAD_NN_POOL(adaptive_avg_pool2d, AdaptiveAvgPool2d, kAverage, adaptive_pool_forward)
#undef TORCHCLAD_NN_POOL

// ---- Layout-aware blocks over a sample's axes: Permute (ONNX Transpose of an
// activation) and Broadcast (Add / Sub / Mul of two activations whose shapes
// broadcast). A sample has up to 3 axes after the batch; an activation is
// batch-major [n, d0, d1, d2] or channel-major [d0, n, d1, d2].

namespace detail {
// An activation's sample shape (its axes after the batch, padded with 1s)
// and layout: batch-major [n, d0, d1, d2] or channel-major [d0, n, d1, d2]
// (strides_of below: where each value lives).
struct AxesLayout {
  int rank = 1;
  int dims[3] = {1, 1, 1};
  bool channel_major = false;
  long width() const { return long{dims[0]} * dims[1] * dims[2]; }
};
inline AxesLayout axes_layout(const char* kind, const std::string& name, const std::vector<int>& dims,
                              bool channel_major) {
  if (dims.empty() || dims.size() > 3)
    throw std::invalid_argument(std::string(kind) + " '" + name +
                                "': a sample has 1 to 3 axes after the batch, found " +
                                std::to_string(dims.size()));
  AxesLayout l;
  l.rank = static_cast<int>(dims.size());
  for (size_t k = 0; k < dims.size(); ++k) {
    if (dims[k] < 1) throw std::invalid_argument(std::string(kind) + " '" + name + "': a dimension < 1");
    l.dims[k] = dims[k];
  }
  l.channel_major = channel_major && dims.size() >= 2 && dims[0] > 1;
  return l;
}
// Where index i of sample s lives is affine in (s, i): s * sample +
// i[0] * axis[0] + i[1] * axis[1] + i[2] (the last axis is contiguous in
// either layout).
struct AxesStrides {
  long sample = 0, axis[3] = {0, 0, 1};
};
inline AxesStrides strides_of(const AxesLayout& l, int n) {
  const long rest = long{l.dims[1]} * l.dims[2];
  AxesStrides t;
  t.sample = l.channel_major ? rest : l.width();
  t.axis[0] = l.channel_major ? long{n} * rest : rest;
  t.axis[1] = l.dims[2];
  return t;
}
// The output's axes, padded with axes of length 1 in front (so the last
// axis of the sample is the inner loop), and up to three operands' strides
// along them (0 along an operand's broadcast axes).
struct StridedLoop {
  int len[3] = {1, 1, 1};
  long sample[3] = {0, 0, 0};
  long step[3][3] = {};  // [operand][axis]
};
// Calls row(offsets, len, steps) for every sample and every index of the
// output's first two (padded) axes: the operands' offsets of the row's first
// value, its length and the operands' strides along it. Rows of the output
// (operand 0) are contiguous.
template <int Operands, class Row>
void for_each_row(const StridedLoop& l, int n, Row row) {
  long at[Operands];
  long inner[Operands];
  for (int k = 0; k < Operands; ++k) inner[k] = l.step[k][2];
  for (int s = 0; s < n; ++s)
    for (int j0 = 0; j0 < l.len[0]; ++j0)
      for (int j1 = 0; j1 < l.len[1]; ++j1) {
        for (int k = 0; k < Operands; ++k) at[k] = s * l.sample[k] + j0 * l.step[k][0] + j1 * l.step[k][1];
        row(at, l.len[2], inner);
      }
}
// Calls f(output offset, input offset) for every value a Permute moves
// (operand 0 the output, 1 the input). When the input is contiguous along
// an outer axis of the output rather than its rows (a channel-major
// [C, n, L] into [L, n, C]: one value per cache line read), 8 x 8 tiles of
// that axis and the rows, so that reads and writes both stay within a few
// cache lines (strides of a power of two map to one cache set: larger tiles
// measured slower here, bench/README.md). Each input value is read for one
// output value: an adjoint accumulating through it sums nothing, in any order.
template <class F>
void for_each_permuted(const StridedLoop& l, int n, F f) {
  int m = -1;
  if (l.step[1][2] != 1)
    for (int k = 0; k < 2; ++k)
      if (l.len[k] > 1 && l.step[1][k] == 1) m = k;
  if (m < 0) {
    for_each_row<2>(l, n, [&](const long* at, int len, const long* step) {
      for (int k = 0; k < len; ++k) f(at[0] + k, at[1] + k * step[1]);
    });
    return;
  }
  constexpr int kTile = 8;
  const int o = 1 - m;
  for (int s = 0; s < n; ++s)
    for (int jo = 0; jo < l.len[o]; ++jo) {
      const long out0 = s * l.sample[0] + jo * l.step[0][o], in0 = s * l.sample[1] + jo * l.step[1][o];
      for (int t0 = 0; t0 < l.len[m]; t0 += kTile) {
        const int t1 = t0 + kTile < l.len[m] ? t0 + kTile : l.len[m];
        for (int u0 = 0; u0 < l.len[2]; u0 += kTile) {
          const int u1 = u0 + kTile < l.len[2] ? u0 + kTile : l.len[2];
          for (int j2 = u0; j2 < u1; ++j2)
            for (int jm = t0; jm < t1; ++jm) f(out0 + jm * l.step[0][m] + j2, in0 + jm + j2 * l.step[1][2]);
        }
      }
    }
}
}  // namespace detail

// torch.permute / ONNX Transpose of an activation, the batch axis kept first:
// output axis k is input axis perm[k] (perm over the sample's axes, 0-based);
// each side batch- or channel-major. Plain int fields (Clad's analysis of
// the loss passes handles through; arrays or nested structs in a handle
// crashed its to-be-recorded analysis here).
struct Permute {
  int rank = 0, i0 = 1, i1 = 1, i2 = 1, q0 = 0, q1 = 1, q2 = 2, o0 = 1, o1 = 1, o2 = 1;
  bool in_channel_major = false, out_channel_major = false;
  int id = -1;
  Permute() = default;
  Permute(const std::string& name, std::vector<int> in_dims, bool in_cm, std::vector<int> perm, bool out_cm) {
    auto& d = detail::current("Permute");
    const detail::AxesLayout in = detail::axes_layout("Permute", name, in_dims, in_cm);
    std::vector<int> seen(in_dims.size(), 0), out_dims;
    bool ok = perm.size() == in_dims.size();
    for (size_t k = 0; ok && k < perm.size(); ++k) {
      ok = perm[k] >= 0 && perm[k] < static_cast<int>(in_dims.size()) && !seen[perm[k]]++;
      if (ok) out_dims.push_back(in_dims[perm[k]]);
    }
    if (!ok)
      throw std::invalid_argument("Permute '" + name + "': perm must order the sample's " +
                                  std::to_string(in_dims.size()) + " axes (0-based), each once");
    const detail::AxesLayout out = detail::axes_layout("Permute", name, out_dims, out_cm);
    rank = in.rank;
    i0 = in.dims[0], i1 = in.dims[1], i2 = in.dims[2];
    o0 = out.dims[0], o1 = out.dims[1], o2 = out.dims[2];
    q0 = perm[0], q1 = rank > 1 ? perm[1] : 1, q2 = rank > 2 ? perm[2] : 2;
    in_channel_major = in.channel_major;
    out_channel_major = out.channel_major;
    id = detail::add_layer(d, name);
  }
};

namespace detail {
inline AxesLayout layout_of(int rank, int d0, int d1, int d2, bool channel_major) {
  AxesLayout l;
  l.rank = rank;
  l.dims[0] = d0;
  l.dims[1] = d1;
  l.dims[2] = d2;
  l.channel_major = channel_major;
  return l;
}
inline AxesLayout permute_in(const Permute& t) {
  return layout_of(t.rank, t.i0, t.i1, t.i2, t.in_channel_major);
}
inline AxesLayout permute_out(const Permute& t) {
  return layout_of(t.rank, t.o0, t.o1, t.o2, t.out_channel_major);
}
// Operand 0 the output, 1 the input read for it: output axis k reads input
// axis perm[k].
inline StridedLoop permute_loop(const Permute& t, int n) {
  const AxesLayout in = permute_in(t), out = permute_out(t);
  const AxesStrides si = strides_of(in, n), so = strides_of(out, n);
  const int q[3] = {t.q0, t.q1, t.q2};
  StridedLoop l;
  l.sample[0] = so.sample;
  l.sample[1] = si.sample;
  for (int k = 0; k < t.rank; ++k) {
    const int at = 3 - t.rank + k;
    l.len[at] = out.dims[k];
    l.step[0][at] = so.axis[k];
    l.step[1][at] = si.axis[q[k]];
  }
  return l;
}
}  // namespace detail

template <typename T>
void permute(Permute t, T* a, Act x, Act y, int n) {
  if (detail::replaying()) return;
  const detail::AxesLayout in = detail::permute_in(t), out = detail::permute_out(t);
  TORCHCLAD_NN_NEED(t.id >= 0, t.id, "a Permute layer is used before it is declared");
  detail::declared(x, t.id, "the input");
  detail::declared(y, t.id, "the output");
  TORCHCLAD_NN_NEED(x.width == in.width() && y.width == out.width(), t.id,
                    "input and output have widths " + detail::str(x.width) + " and " + detail::str(y.width) +
                        ", the layer permutes " + detail::str(in.width()));
  detail::writes(y, t.id);
  const T* xv = a + long{n} * x.off;
  T* yv = a + long{n} * y.off;
  detail::for_each_permuted(detail::permute_loop(t, n), n, [&](long o, long i) { yv[o] = xv[i]; });
}

// Two activations of the same rank whose shapes broadcast (numpy's rule,
// per axis equal or 1), e.g. a convolution's output [C, L] times a gate
// [C, 1] or [1, L], or features [F] times a per-sample scale [1]: y has the
// broadcast shape in its own layout. Plain int fields, as Permute.
struct Broadcast {
  int rank = 0, a0 = 1, a1 = 1, a2 = 1, b0 = 1, b1 = 1, b2 = 1, o0 = 1, o1 = 1, o2 = 1;
  bool a_channel_major = false, b_channel_major = false, out_channel_major = false;
  int id = -1;
  Broadcast() = default;
  Broadcast(const std::string& name, std::vector<int> dims1, bool channel_major1, std::vector<int> dims2,
            bool channel_major2, bool out_cm) {
    auto& d = detail::current("Broadcast");
    const detail::AxesLayout x1 = detail::axes_layout("Broadcast", name, dims1, channel_major1);
    const detail::AxesLayout x2 = detail::axes_layout("Broadcast", name, dims2, channel_major2);
    if (dims1.size() != dims2.size())
      throw std::invalid_argument("Broadcast '" + name + "': the operands have " +
                                  std::to_string(dims1.size()) + " and " + std::to_string(dims2.size()) +
                                  " axes after the batch (needs the same)");
    std::vector<int> dims;
    for (size_t k = 0; k < dims1.size(); ++k) {
      if (dims1[k] != dims2[k] && dims1[k] != 1 && dims2[k] != 1)
        throw std::invalid_argument("Broadcast '" + name + "': axis " + std::to_string(k + 1) +
                                    " has sizes " + std::to_string(dims1[k]) + " and " +
                                    std::to_string(dims2[k]) +
                                    ", which do not broadcast (equal, or one of them 1)");
      dims.push_back(std::max(dims1[k], dims2[k]));
    }
    const detail::AxesLayout out = detail::axes_layout("Broadcast", name, dims, out_cm);
    rank = x1.rank;
    a0 = x1.dims[0], a1 = x1.dims[1], a2 = x1.dims[2];
    b0 = x2.dims[0], b1 = x2.dims[1], b2 = x2.dims[2];
    o0 = out.dims[0], o1 = out.dims[1], o2 = out.dims[2];
    a_channel_major = x1.channel_major;
    b_channel_major = x2.channel_major;
    out_channel_major = out.channel_major;
    id = detail::add_layer(d, name);
  }
};

namespace detail {
enum class BroadcastOp { kAdd, kSub, kMul };
inline AxesLayout broadcast_x1(const Broadcast& b) {
  return layout_of(b.rank, b.a0, b.a1, b.a2, b.a_channel_major);
}
inline AxesLayout broadcast_x2(const Broadcast& b) {
  return layout_of(b.rank, b.b0, b.b1, b.b2, b.b_channel_major);
}
inline AxesLayout broadcast_out(const Broadcast& b) {
  return layout_of(b.rank, b.o0, b.o1, b.o2, b.out_channel_major);
}
// Operand 0 the output, 1 and 2 the inputs (stride 0 along their axes of 1).
inline StridedLoop broadcast_loop(const Broadcast& b, int n) {
  const AxesLayout layouts[3] = {broadcast_out(b), broadcast_x1(b), broadcast_x2(b)};
  StridedLoop l;
  for (int op = 0; op < 3; ++op) {
    const AxesStrides st = strides_of(layouts[op], n);
    l.sample[op] = st.sample;
    for (int k = 0; k < b.rank; ++k) {
      const int at = 3 - b.rank + k;
      l.len[at] = layouts[0].dims[k];
      l.step[op][at] = layouts[op].dims[k] == 1 ? 0 : st.axis[k];
    }
  }
  return l;
}
template <BroadcastOp Op, typename T>
void broadcast_forward(const Broadcast& bc, T* a, const Act& x1, const Act& x2, const Act& y, int n) {
  if (replaying()) return;
  struct {
    AxesLayout x1, x2, out;
    int id;
  } const b{broadcast_x1(bc), broadcast_x2(bc), broadcast_out(bc), bc.id};
  TORCHCLAD_NN_NEED(b.id >= 0, b.id, "a Broadcast layer is used before it is declared");
  declared(x1, b.id, "the first input");
  declared(x2, b.id, "the second input");
  declared(y, b.id, "the output");
  TORCHCLAD_NN_NEED(x1.width == b.x1.width() && x2.width == b.x2.width() && y.width == b.out.width(), b.id,
                    "inputs and output have widths " + str(x1.width) + ", " + str(x2.width) + " and " +
                        str(y.width) + ", the layer expects " + str(b.x1.width()) + ", " + str(b.x2.width()) +
                        " and " + str(b.out.width()));
  writes(y, b.id);
  const T* u = a + long{n} * x1.off;
  const T* v = a + long{n} * x2.off;
  T* w = a + long{n} * y.off;
  for_each_row<3>(broadcast_loop(bc, n), n, [&](const long* at, int len, const long* step) {
    T* out = w + at[0];
    const T* p = u + at[1];
    const T* q = v + at[2];
    const long sp = step[1], sq = step[2];
    for (int k = 0; k < len; ++k)
      out[k] = Op == BroadcastOp::kAdd   ? p[k * sp] + q[k * sq]
               : Op == BroadcastOp::kSub ? p[k * sp] - q[k * sq]
                                         : p[k * sp] * q[k * sq];
  });
}
}  // namespace detail

template <typename T>
void broadcast_add(Broadcast b, T* a, Act x1, Act x2, Act y, int n) {
  detail::broadcast_forward<detail::BroadcastOp::kAdd>(b, a, x1, x2, y, n);
}
template <typename T>
void broadcast_sub(Broadcast b, T* a, Act x1, Act x2, Act y, int n) {
  detail::broadcast_forward<detail::BroadcastOp::kSub>(b, a, x1, x2, y, n);
}
template <typename T>
void broadcast_mul(Broadcast b, T* a, Act x1, Act x2, Act y, int n) {
  detail::broadcast_forward<detail::BroadcastOp::kMul>(b, a, x1, x2, y, n);
}

// ---- Constants: values that are not trained.

// A constant tensor of the definition: `values` (double, an array with static
// storage: it is read in every step, never copied) of `shape`. BatchNorm's
// running statistics, the inference form's gamma and beta, constant operands
// of add/sub/mul/div. Not in the flat parameter buffer: no optimizer (and no
// weight decay) changes them, and Model::save does not store them (the
// definition's source holds them).
struct Const {
  const double* v = nullptr;
  long size = 0;
  int id = -1;
  Const() = default;
  Const(const std::string& name, const double* values, std::vector<int64_t> shape) {
    auto& d = detail::current("Const");
    long numel = 1;
    for (auto s : shape) {
      if (s < 1) throw std::invalid_argument("Const '" + name + "': a dimension < 1");
      numel *= static_cast<long>(s);
    }
    if (!values) throw std::invalid_argument("Const '" + name + "': no values (a null pointer)");
    v = values;
    size = numel;
    id = detail::add_layer(d, name);
  }
};

// ---- Elementwise layers over any layout.

// torch.nn.LeakyReLU(alpha): x > 0 ? x : alpha * x (the gradient at 0 is alpha, as PyTorch's).
template <typename T>
void leaky_relu(T* a, Act x, Act y, double alpha, int n) {
  if (detail::replaying()) return;
  detail::same_width<T>(x, y);
  detail::writes(y, y.id);
  const T* xv = a + long{n} * x.off;
  T* yv = a + long{n} * y.off;
  const T s = static_cast<T>(alpha);
  for (long i = 0; i < long{n} * x.width; ++i) yv[i] = xv[i] > T(0) ? xv[i] : s * xv[i];
}

// ONNX Clip / torch.clamp(x, lo, hi) (ReLU6 is clip(0, 6)); the gradient
// passes where lo <= x <= hi, as PyTorch's.
template <typename T>
void clip(T* a, Act x, Act y, double lo, double hi, int n) {
  if (detail::replaying()) return;
  detail::same_width<T>(x, y);
  TORCHCLAD_NN_NEED(
      lo <= hi, y.id,
      "clip: the lower bound " + std::to_string(lo) + " is above the upper " + std::to_string(hi));
  detail::writes(y, y.id);
  const T* xv = a + long{n} * x.off;
  T* yv = a + long{n} * y.off;
  const T l = static_cast<T>(lo), h = static_cast<T>(hi);
  for (long i = 0; i < long{n} * x.width; ++i) yv[i] = xv[i] < l ? l : (xv[i] > h ? h : xv[i]);
}

// Softmax and LogSoftmax over each sample's values of x [n, width] (ONNX
// axis 1 / -1 of a [n, width] tensor, torch.softmax(x, 1)).
template <typename T>
void softmax(T* a, Act x, Act y, int n) {
  if (detail::replaying()) return;
  detail::same_width<T>(x, y);
  detail::writes(y, y.id);
  kernels::softmax_rows(a + long{n} * x.off, a + long{n} * y.off, n, x.width, false);
}
template <typename T>
void log_softmax(T* a, Act x, Act y, int n) {
  if (detail::replaying()) return;
  detail::same_width<T>(x, y);
  detail::writes(y, y.id);
  kernels::softmax_rows(a + long{n} * x.off, a + long{n} * y.off, n, x.width, true);
}

// Softmax and LogSoftmax over the channels of a channel-major activation x
// [channels, n, spatial] (torch.softmax(x, 1) on a convolution's output;
// ONNX axis 1 of [n, C, ...]).
namespace detail {
// Over `count` values `stride` apart from x (and y) on.
template <typename T>
void softmax_strided(const T* x, T* y, int count, long stride, bool log) {
  T m = x[0];
  for (int c = 1; c < count; ++c) m = x[c * stride] > m ? x[c * stride] : m;
  T sum = T(0);
  for (int c = 0; c < count; ++c) sum += std::exp(x[c * stride] - m);
  const T lse = m + std::log(sum);
  for (int c = 0; c < count; ++c) y[c * stride] = log ? x[c * stride] - lse : std::exp(x[c * stride] - lse);
}
template <typename T>
void softmax_channels(T* a, const Act& x, const Act& y, int channels, int n, bool log) {
  same_width<T>(x, y);
  TORCHCLAD_NN_NEED(channels > 0 && x.width % channels == 0, y.id,
                    std::string(log ? "log_softmax" : "softmax") + "_channels: " + str(x.width) +
                        " values are not " + str(channels) + " channels");
  writes(y, y.id);
  const long spatial = x.width / channels, stride = long{n} * spatial;
  for (long i = 0; i < stride; ++i)
    softmax_strided(a + long{n} * x.off + i, a + long{n} * y.off + i, channels, stride, log);
}
}  // namespace detail

namespace detail {
// Groups of `count` values `inner` apart, group after group over the whole
// buffer (n * width values): softmax over one axis of any layout whose axis
// does not cross the batch (see softmax_axis).
template <typename T>
void softmax_axis(T* a, const Act& x, const Act& y, int count, int inner, int n, bool log) {
  same_width<T>(x, y);
  const long group = long{count} * inner, total = long{n} * x.width;
  TORCHCLAD_NN_NEED(count > 0 && inner > 0 && x.width % group == 0, y.id,
                    std::string(log ? "log_softmax" : "softmax") + "_axis: " + str(x.width) +
                        " values per sample are not groups of " + str(count) + " x " + str(inner));
  writes(y, y.id);
  for (long g = 0; g < total; g += group)
    for (int i = 0; i < inner; ++i)
      softmax_strided(a + long{n} * x.off + g + i, a + long{n} * y.off + g + i, count, inner, log);
}
}  // namespace detail

// Softmax and LogSoftmax over one axis of a sample that is neither the batch
// nor (channel-major) the channels: `count` values `inner` apart, where inner
// is the product of the axis's trailing dimensions (1: the last axis). For a
// batch-major x [n, d1, d2, ...] over axis k: count = dk, inner = d(k+1) * ...;
// for a channel-major x [C, n, h, w] over h or w the same (the groups never
// cross a channel's block of one sample).
template <typename T>
void softmax_axis(T* a, Act x, Act y, int count, int inner, int n) {
  if (!detail::replaying()) detail::softmax_axis(a, x, y, count, inner, n, false);
}
template <typename T>
void log_softmax_axis(T* a, Act x, Act y, int count, int inner, int n) {
  if (!detail::replaying()) detail::softmax_axis(a, x, y, count, inner, n, true);
}

template <typename T>
void softmax_channels(T* a, Act x, Act y, int channels, int n) {
  if (!detail::replaying()) detail::softmax_channels(a, x, y, channels, n, false);
}
template <typename T>
void log_softmax_channels(T* a, Act x, Act y, int channels, int n) {
  if (!detail::replaying()) detail::softmax_channels(a, x, y, channels, n, true);
}

// ---- BatchNorm (eval mode: running statistics, not the batch's).

// torch.nn.BatchNorm1d/2d in eval mode over `channels`:
//   y = (x - running_mean) / sqrt(running_var + eps) * gamma + beta.
// spatial >= 1: x is channel-major [channels, n, spatial] (after a conv or a
// pool, spatial = h * w or length); spatial 0: x is [n, channels] (after a
// Linear). The running statistics are not trained (model.eval()
// fine-tuning keeps them): constants (nn::Const). (As parameters with a zero
// gradient they would fail Model::check_gradients and shrink under weight
// decay: the engine has no notion of a parameter that is not trained.)
struct BatchNorm {
  long w = -1, b = -1;  // gamma, beta in the parameters, else -1 (constants)
  const double* mean = nullptr;
  const double* var = nullptr;
  const double* gamma = nullptr;  // the inference form's constants
  const double* beta = nullptr;
  double eps = 1e-5;
  int channels = 0, spatial = 0, id = -1;
  BatchNorm() = default;
  // Trainable form: name.weight [channels] (gamma, starts at 1) and name.bias
  // [channels] (beta, starts at 0) are parameters; the running statistics constants.
  BatchNorm(const std::string& name, int channels, int spatial, Const running_mean, Const running_var,
            double eps = 1e-5) {
    declare(name, channels, spatial, eps);
    use_statistics(name, running_mean, running_var);
    auto& d = detail::current("BatchNorm");
    w = detail::add_param(d, name + ".weight", {channels}, Init::kOnes, channels, channels);
    b = detail::add_param(d, name + ".bias", {channels}, Init::kZeros, channels, channels);
  }
  // Inference form: gamma and beta constants too; no parameters.
  BatchNorm(const std::string& name, int channels, int spatial, Const running_mean, Const running_var,
            Const gamma, Const beta, double eps = 1e-5) {
    declare(name, channels, spatial, eps);
    use_statistics(name, running_mean, running_var);
    for (const Const* c : {&gamma, &beta})
      if (c->id < 0 || c->size != channels)
        throw std::invalid_argument(
            "BatchNorm '" + name + "': gamma and beta need " + std::to_string(channels) + " values, found " +
            (c->id < 0 ? std::string("an undeclared Const") : std::to_string(c->size)));
    this->gamma = gamma.v;
    this->beta = beta.v;
  }

 private:
  void declare(const std::string& name, int c, int s, double e) {
    auto& d = detail::current("BatchNorm");
    if (c < 1 || s < 0 || !(e > 0))
      throw std::invalid_argument("BatchNorm '" + name +
                                  "': needs channels >= 1, spatial >= 0 and eps > 0, found " +
                                  std::to_string(c) + ", " + std::to_string(s) + ", " + std::to_string(e));
    eps = e;
    channels = c;
    spatial = s;
    id = detail::add_layer(d, name);
  }
  void use_statistics(const std::string& name, const Const& m, const Const& v) {
    for (const Const* k : {&m, &v})
      if (k->id < 0 || k->size != channels)
        throw std::invalid_argument(
            "BatchNorm '" + name + "': the running mean and variance need " + std::to_string(channels) +
            " values, found " + (k->id < 0 ? std::string("an undeclared Const") : std::to_string(k->size)));
    for (long i = 0; i < channels; ++i)
      if (!(v.v[i] + eps > 0))
        throw std::invalid_argument("BatchNorm '" + name + "': running_var[" + std::to_string(i) +
                                    "] + eps is " + std::to_string(v.v[i] + eps) + ", not > 0");
    mean = m.v;
    var = v.v;
  }
};

namespace detail {
// Per channel: scale = gamma / sqrt(var + eps), shift = beta - mean * scale.
template <typename T>
T batch_norm_mean(const BatchNorm& bn, const T* p, int c) {
  (void)p;
  return static_cast<T>(bn.mean[c]);
}
template <typename T>
void batch_norm_channel(const BatchNorm& bn, const T* p, int c, T& scale, T& shift, T& invstd) {
  invstd = static_cast<T>(1.0 / std::sqrt(bn.var[c] + bn.eps));
  const T g = bn.w >= 0 ? p[bn.w + c] : static_cast<T>(bn.gamma[c]);
  const T beta = bn.b >= 0 ? p[bn.b + c] : static_cast<T>(bn.beta[c]);
  scale = g * invstd;
  shift = beta - batch_norm_mean(bn, p, c) * scale;
}
// Calls f(index, channel) for every value of an activation of `channels`
// channels of `spatial` values (0: [n, channels]; else [channels, n, spatial]).
template <typename F>
void for_each_channel_value(int channels, int spatial, int n, F f) {
  if (spatial == 0) {
    for (int b = 0; b < n; ++b)
      for (int c = 0; c < channels; ++c) f(long{b} * channels + c, c);
  } else {
    for (int c = 0; c < channels; ++c)
      for (long i = long{c} * n * spatial; i < long{c + 1} * n * spatial; ++i) f(i, c);
  }
}
}  // namespace detail

template <typename T>
void batch_norm(BatchNorm bn, const T* p, T* a, Act x, Act y, int n) {
  if (detail::replaying()) return;
  TORCHCLAD_NN_NEED(bn.id >= 0, bn.id, "a BatchNorm layer is used before it is declared");
  detail::declared(x, bn.id, "the input");
  detail::declared(y, bn.id, "the output");
  const int width = bn.channels * (bn.spatial > 0 ? bn.spatial : 1);
  TORCHCLAD_NN_NEED(x.width == width && y.width == width, bn.id,
                    "input and output have widths " + detail::str(x.width) + " and " + detail::str(y.width) +
                        ", the layer expects " + detail::str(bn.channels) +
                        (bn.spatial > 0 ? " x " + detail::str(bn.spatial) : std::string(" (features)")));
  detail::writes(y, bn.id);
  const T* xv = a + long{n} * x.off;
  T* yv = a + long{n} * y.off;
  for (int c = 0; c < bn.channels; ++c) {
    T scale, shift, invstd;
    detail::batch_norm_channel(bn, p, c, scale, shift, invstd);
    if (bn.spatial == 0)
      for (int s = 0; s < n; ++s)
        yv[long{s} * bn.channels + c] = xv[long{s} * bn.channels + c] * scale + shift;
    else
      for (long i = long{c} * n * bn.spatial; i < long{c + 1} * n * bn.spatial; ++i)
        yv[i] = xv[i] * scale + shift;
  }
}

// ---- Broadcasting Add, Sub, Mul (and Div, RSub by a constant or parameter), Concat.

namespace detail {
enum class BinaryOp : int { kAdd, kSub, kMul, kDiv, kRSub };  // kRSub: q - x

template <typename T>
T apply_op(BinaryOp op, T u, T v) {
  switch (op) {
    case BinaryOp::kAdd:
      return u + v;
    case BinaryOp::kSub:
      return u - v;
    case BinaryOp::kMul:
      return u * v;
    case BinaryOp::kDiv:
      return u / v;
    default:
      return v - u;
  }
}
// d(u op v)/du and /dv.
template <typename T>
void op_partials(BinaryOp op, T u, T v, T& du, T& dv) {
  switch (op) {
    case BinaryOp::kAdd:
      du = T(1), dv = T(1);
      break;
    case BinaryOp::kSub:
      du = T(1), dv = T(-1);
      break;
    case BinaryOp::kMul:
      du = v, dv = u;
      break;
    case BinaryOp::kDiv:
      du = T(1) / v, dv = -u / (v * v);
      break;
    default:
      du = T(-1), dv = T(1);
      break;
  }
}

inline const char* op_name(BinaryOp op) {
  switch (op) {
    case BinaryOp::kAdd:
      return "add";
    case BinaryOp::kSub:
      return "sub";
    case BinaryOp::kMul:
      return "mul";
    case BinaryOp::kDiv:
      return "div";
    default:
      return "rsub";
  }
}

// Calls f(i, j) for every value i of x (n samples of `width`) with j the
// index of the operand's value it meets: size 1 (a scalar); channels > 0 (x
// [channels, n, width / channels]): size channels (per channel) or width
// ([channels, spatial], per sample); channels 0 (x [n, width]): size width.
template <typename F>
void for_each_broadcast(int width, int channels, long size, int n, F f) {
  const long total = long{n} * width;
  if (size == 1) {
    for (long i = 0; i < total; ++i) f(i, 0L);
  } else if (channels == 0) {
    for (long i = 0; i < total; ++i) f(i, i % width);
  } else {
    const long spatial = width / channels;
    for (int c = 0; c < channels; ++c)
      for (int b = 0; b < n; ++b)
        for (long s = 0; s < spatial; ++s) {
          const long i = (long{c} * n + b) * spatial + s;
          f(i, size == channels ? long{c} : long{c} * spatial + s);
        }
  }
}

inline void check_broadcast(BinaryOp op, const Act& x, const Act& y, long size, int channels, int operand_id,
                            int id) {
  declared(x, id, "the input");
  declared(y, id, "the output");
  TORCHCLAD_NN_NEED(operand_id >= 0, id,
                    std::string(op_name(op)) + ": the operand is used before it is declared");
  TORCHCLAD_NN_NEED(
      x.width == y.width, id,
      std::string(op_name(op)) + ": input has width " + str(x.width) + ", the output " + str(y.width));
  TORCHCLAD_NN_NEED(
      channels >= 0 && (channels == 0 || x.width % channels == 0), id,
      std::string(op_name(op)) + ": " + str(x.width) + " values are not " + str(channels) + " channels");
  const bool fits = size == 1 || size == x.width || (channels > 0 && size == channels);
  TORCHCLAD_NN_NEED(fits, id,
                    std::string(op_name(op)) + ": the operand has " + str(size) +
                        " values; expected 1 (a scalar), " +
                        (channels > 0 ? str(channels) + " (one per channel) or " : std::string()) +
                        str(x.width) + " (one per value of a sample)");
  writes(y, id);
}

template <typename T>
void binary_acts(BinaryOp op, T* a, const Act& x1, const Act& x2, const Act& y, int n) {
  declared(x1, y.id, "the first input");
  declared(x2, y.id, "the second input");
  declared(y, y.id, "the output");
  TORCHCLAD_NN_NEED(x1.width == x2.width && x1.width == y.width, y.id,
                    std::string(op_name(op)) + ": inputs have widths " + str(x1.width) + " and " +
                        str(x2.width) + ", the output " + str(y.width) + "; expected the same");
  writes(y, y.id);
  const T* u = a + long{n} * x1.off;
  const T* v = a + long{n} * x2.off;
  T* out = a + long{n} * y.off;
  for (long i = 0; i < long{n} * y.width; ++i) out[i] = apply_op(op, u[i], v[i]);
}
template <typename T, typename Q>
void binary_operand(BinaryOp op, T* a, const Act& x, const Q* q, long size, int operand_id, const Act& y,
                    int channels, int n) {
  check_broadcast(op, x, y, size, channels, operand_id, y.id);
  const T* u = a + long{n} * x.off;
  T* out = a + long{n} * y.off;
  for_each_broadcast(x.width, channels, size, n,
                     [&](long i, long j) { out[i] = apply_op(op, u[i], static_cast<T>(q[j])); });
}
}  // namespace detail

// Two activations of the same width (and layout): y = x1 op x2.
template <typename T>
void add(T* a, Act x1, Act x2, Act y, int n) {
  if (!detail::replaying()) detail::binary_acts(detail::BinaryOp::kAdd, a, x1, x2, y, n);
}
template <typename T>
void sub(T* a, Act x1, Act x2, Act y, int n) {
  if (!detail::replaying()) detail::binary_acts(detail::BinaryOp::kSub, a, x1, x2, y, n);
}
template <typename T>
void mul(T* a, Act x1, Act x2, Act y, int n) {
  if (!detail::replaying()) detail::binary_acts(detail::BinaryOp::kMul, a, x1, x2, y, n);
}
// An activation and a parameter, broadcast (see detail::for_each_broadcast):
// y = x op q (rsub: q - x).
#define TORCHCLAD_NN_PARAM_OP(NAME, OP)                                                                 \
  template <typename T>                                                                                 \
  void NAME(const T* p, T* a, Act x, Param q, Act y, int channels, int n) {                             \
    if (!detail::replaying())                                                                           \
      detail::binary_operand(detail::BinaryOp::OP, a, x, p + (q.off >= 0 ? q.off : 0), q.size, q.id, y, \
                             channels, n);                                                              \
  }                                                                                                     \
  template <typename T>                                                                                 \
  void NAME(T* a, Act x, Const c, Act y, int channels, int n) {                                         \
    if (!detail::replaying())                                                                           \
      detail::binary_operand(detail::BinaryOp::OP, a, x, c.v, c.size, c.id, y, channels, n);            \
  }
TORCHCLAD_NN_PARAM_OP(add, kAdd)
TORCHCLAD_NN_PARAM_OP(sub, kSub)
TORCHCLAD_NN_PARAM_OP(mul, kMul)
TORCHCLAD_NN_PARAM_OP(div, kDiv)
TORCHCLAD_NN_PARAM_OP(rsub, kRSub)
#undef TORCHCLAD_NN_PARAM_OP

namespace detail {
inline void check_concat(const Act& x1, const Act& x2, const Act& y) {
  declared(x1, y.id, "the first input");
  declared(x2, y.id, "the second input");
  declared(y, y.id, "the output");
  TORCHCLAD_NN_NEED(x1.width + x2.width == y.width, y.id,
                    "concat: inputs have widths " + str(x1.width) + " and " + str(x2.width) +
                        ", the output " + str(y.width) + "; expected their sum");
  writes(y, y.id);
}
}  // namespace detail

// Concat along the features of a sample: [n, w1], [n, w2] -> [n, w1 + w2].
template <typename T>
void concat_features(T* a, Act x1, Act x2, Act y, int n) {
  if (detail::replaying()) return;
  detail::check_concat(x1, x2, y);
  const T* u = a + long{n} * x1.off;
  const T* v = a + long{n} * x2.off;
  T* out = a + long{n} * y.off;
  for (int b = 0; b < n; ++b) {
    std::copy(u + long{b} * x1.width, u + long{b + 1} * x1.width, out + long{b} * y.width);
    std::copy(v + long{b} * x2.width, v + long{b + 1} * x2.width, out + long{b} * y.width + x1.width);
  }
}
// Concat along the channels of channel-major activations: [c1, n, s], [c2,
// n, s] -> [c1 + c2, n, s] (the two blocks one after the other).
template <typename T>
void concat_channels(T* a, Act x1, Act x2, Act y, int n) {
  if (detail::replaying()) return;
  detail::check_concat(x1, x2, y);
  const T* u = a + long{n} * x1.off;
  const T* v = a + long{n} * x2.off;
  T* out = a + long{n} * y.off;
  std::copy(u, u + long{n} * x1.width, out);
  std::copy(v, v + long{n} * x2.width, out + long{n} * x1.width);
}

// PyTorch's order [n, channels * len] to channel-major [channels, n, len]
// (the inverse of flatten: a Linear's output reshaped for a convolution, or
// the input batch as an activation).
template <typename T>
void unflatten(T* a, Act x, Act y, int channels, int n) {
  if (detail::replaying()) return;
  detail::same_width<T>(x, y);
  TORCHCLAD_NN_NEED(
      channels > 0 && x.width % channels == 0, y.id,
      "unflatten: " + detail::str(x.width) + " values are not " + detail::str(channels) + " channels");
  detail::writes(y, y.id);
  kernels::batch_major_to_channels(a + long{n} * x.off, a + long{n} * y.off, channels, n, x.width / channels);
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
void conv2d_pullback(tn::Conv2d c, const T* p, const T* x, T* a, tn::Act y, int n, tn::Conv2d*, T* d_p,
                     T* d_a, tn::Act*, int*) {
  T* dy = d_a + long{n} * y.off;
  tk::conv2d_backward<T>(x, p + c.w, dy, a + long{n} * c.col, n, tn::detail::conv2d_shape(c, true), nullptr,
                         d_p + c.w, tn::detail::bias_or_null(d_p, c.b));
  detail::clear(dy, long{n} * y.width);
}
template <typename T>
void conv2d_pullback(tn::Conv2d c, const T* p, T* a, tn::Act x, tn::Act y, int n, tn::Conv2d*, T* d_p, T* d_a,
                     tn::Act*, tn::Act*, int*) {
  T* dy = d_a + long{n} * y.off;
  tk::conv2d_backward<T>(a + long{n} * x.off, p + c.w, dy, a + long{n} * c.col, n,
                         tn::detail::conv2d_shape(c, false), d_a + long{n} * x.off, d_p + c.w,
                         tn::detail::bias_or_null(d_p, c.b));
  detail::clear(dy, long{n} * y.width);
}

namespace detail {
// dx += the pooling's adjoint of dy; dy = 0.
template <tn::Reduction R, typename T>
void pool_backward(const tn::detail::PoolFields& f, T* a, T* d_a, const tn::Act& x, const tn::Act& y, int n) {
  T* dy = d_a + long{n} * y.off;
  T* dx = d_a + long{n} * x.off;
  if (R == tn::Reduction::kMax && tn::detail::tiled_1d(f))
    tk::max_pool1d_backward<T>(a + long{n} * x.off, a + long{n} * y.off, dy, dx, f.channels * n, f.w, f.kw);
  else if (R == tn::Reduction::kMax)
    tk::max_pool2d_backward<T>(a + long{n} * x.off, dy, dx, long{f.channels} * n, tn::detail::pool_shape(f));
  else
    tk::avg_pool2d_backward<T>(dy, dx, long{f.channels} * n, tn::detail::pool_shape(f));
  clear(dy, long{n} * y.width);
}
}  // namespace detail

#define TORCHCLAD_NN_POOL_PULLBACK(NAME, HANDLE, REDUCTION, BACKWARD)                                     \
  template <typename T>                                                                                   \
  void NAME##_pullback(tn::HANDLE pool, T* a, tn::Act x, tn::Act y, int n, tn::HANDLE*, T* d_a, tn::Act*, \
                       tn::Act*, int*) {                                                                  \
    detail::BACKWARD<tn::Reduction::REDUCTION>(pool, a, d_a, x, y, n);                                    \
  }
TORCHCLAD_NN_POOL_PULLBACK(max_pool1d, MaxPool1d, kMax, pool_backward)
TORCHCLAD_NN_POOL_PULLBACK(avg_pool1d, AvgPool1d, kAverage, pool_backward)
TORCHCLAD_NN_POOL_PULLBACK(max_pool2d, MaxPool2d, kMax, pool_backward)
TORCHCLAD_NN_POOL_PULLBACK(avg_pool2d, AvgPool2d, kAverage, pool_backward)

namespace detail {
// Adaptive pooling's adjoint: dx[argmax] += dy (max), dx[window] += dy /
// window size (average); dy = 0.
template <tn::Reduction R, typename T>
void adaptive_pool_backward(const tn::detail::AdaptiveFields& f, T* a, T* d_a, const tn::Act& x,
                            const tn::Act& y, int n) {
  const long planes = long{f.channels} * n, in = long{f.h} * f.w, out = long{f.hout} * f.wout;
  const tk::Pool2dShape rows = tn::detail::adaptive_rows(f);
  for (long q = 0; q < planes; ++q) {
    const T* plane = a + long{n} * x.off + q * in;
    T* dplane = d_a + long{n} * x.off + q * in;
    const T* dout = d_a + long{n} * y.off + q * out;
    for (int oh = 0; oh < f.hout; ++oh)
      for (int ow = 0; ow < f.wout; ++ow) {
        const tk::PoolWindow win = tn::detail::adaptive_window(f, oh, ow);
        const T g = dout[long{oh} * f.wout + ow];
        if (R == tn::Reduction::kMax) {
          dplane[tk::max_pool2d_argmax(plane, rows, win)] += g;
          continue;
        }
        const T share = g / T((win.h1 - win.h0) * (win.w1 - win.w0));
        for (int i = win.h0; i < win.h1; ++i)
          for (int j = win.w0; j < win.w1; ++j) dplane[long{i} * f.w + j] += share;
      }
  }
  clear(d_a + long{n} * y.off, long{n} * y.width);
}
}  // namespace detail

TORCHCLAD_NN_POOL_PULLBACK(adaptive_max_pool1d, AdaptiveMaxPool1d, kMax, adaptive_pool_backward)
TORCHCLAD_NN_POOL_PULLBACK(adaptive_avg_pool1d, AdaptiveAvgPool1d, kAverage, adaptive_pool_backward)
TORCHCLAD_NN_POOL_PULLBACK(adaptive_max_pool2d, AdaptiveMaxPool2d, kMax, adaptive_pool_backward)
TORCHCLAD_NN_POOL_PULLBACK(adaptive_avg_pool2d, AdaptiveAvgPool2d, kAverage, adaptive_pool_backward)
#undef TORCHCLAD_NN_POOL_PULLBACK

// Permute's adjoint: dx[source] += dy; dy = 0.
template <typename T>
void permute_pullback(tn::Permute t, T* a, tn::Act x, tn::Act y, int n, tn::Permute*, T* d_a, tn::Act*,
                      tn::Act*, int*) {
  const T* dy = d_a + long{n} * y.off;
  T* dx = d_a + long{n} * x.off;
  tn::detail::for_each_permuted(tn::detail::permute_loop(t, n), n, [&](long o, long i) { dx[i] += dy[o]; });
  detail::clear(d_a + long{n} * y.off, long{n} * y.width);
}

namespace detail {
// Broadcast's adjoint: each output's dy goes to the operands' values it
// read (summed over the broadcast axes); dy = 0.
template <tn::detail::BroadcastOp Op, typename T>
void broadcast_backward(const tn::Broadcast& bc, T* a, T* d_a, const tn::Act& x1, const tn::Act& x2,
                        const tn::Act& y, int n) {
  const T* u = a + long{n} * x1.off;
  const T* v = a + long{n} * x2.off;
  T* du = d_a + long{n} * x1.off;
  T* dv = d_a + long{n} * x2.off;
  const T* dy = d_a + long{n} * y.off;
  // The same order of accumulation as the forward's loop (sums over the
  // broadcast axes in index order).
  tn::detail::for_each_row<3>(tn::detail::broadcast_loop(bc, n), n,
                              [&](const long* at, int len, const long* step) {
                                const T* g = dy + at[0];
                                const long k1 = at[1], k2 = at[2], s1 = step[1], s2 = step[2];
                                for (int k = 0; k < len; ++k) {
                                  if (Op == tn::detail::BroadcastOp::kMul) {
                                    const T p = u[k1 + k * s1], q = v[k2 + k * s2];
                                    du[k1 + k * s1] += g[k] * q;
                                    dv[k2 + k * s2] += g[k] * p;
                                  } else {
                                    du[k1 + k * s1] += g[k];
                                    dv[k2 + k * s2] += Op == tn::detail::BroadcastOp::kAdd ? g[k] : -g[k];
                                  }
                                }
                              });
  clear(d_a + long{n} * y.off, long{n} * y.width);
}
}  // namespace detail

#define TORCHCLAD_NN_BROADCAST_PULLBACK(NAME, OP)                                                       \
  template <typename T>                                                                                 \
  void NAME##_pullback(tn::Broadcast b, T* a, tn::Act x1, tn::Act x2, tn::Act y, int n, tn::Broadcast*, \
                       T* d_a, tn::Act*, tn::Act*, tn::Act*, int*) {                                    \
    detail::broadcast_backward<tn::detail::BroadcastOp::OP>(b, a, d_a, x1, x2, y, n);                   \
  }
TORCHCLAD_NN_BROADCAST_PULLBACK(broadcast_add, kAdd)
TORCHCLAD_NN_BROADCAST_PULLBACK(broadcast_sub, kSub)
TORCHCLAD_NN_BROADCAST_PULLBACK(broadcast_mul, kMul)
#undef TORCHCLAD_NN_BROADCAST_PULLBACK

template <typename T>
void leaky_relu_pullback(T* a, tn::Act x, tn::Act y, double alpha, int n, T* d_a, tn::Act*, tn::Act*, double*,
                         int*) {
  const T s = static_cast<T>(alpha);
  detail::elementwise_pullback(a, d_a, x, y, n, [s](T v, T) { return v > T(0) ? T(1) : s; });
}

template <typename T>
void clip_pullback(T* a, tn::Act x, tn::Act y, double lo, double hi, int n, T* d_a, tn::Act*, tn::Act*,
                   double*, double*, int*) {
  const T l = static_cast<T>(lo), h = static_cast<T>(hi);
  detail::elementwise_pullback(a, d_a, x, y, n, [l, h](T v, T) { return v >= l && v <= h ? T(1) : T(0); });
}

template <typename T>
void softmax_pullback(T* a, tn::Act x, tn::Act y, int n, T* d_a, tn::Act*, tn::Act*, int*) {
  tk::softmax_rows_backward<T>(a + long{n} * y.off, d_a + long{n} * y.off, d_a + long{n} * x.off, n, x.width,
                               false);
}
template <typename T>
void log_softmax_pullback(T* a, tn::Act x, tn::Act y, int n, T* d_a, tn::Act*, tn::Act*, int*) {
  tk::softmax_rows_backward<T>(a + long{n} * y.off, d_a + long{n} * y.off, d_a + long{n} * x.off, n, x.width,
                               true);
}

namespace detail {
// dx += y * (dy - sum dy y) (softmax) or dx += dy - exp(y) sum dy
// (log-softmax) over each position's channels; then dy = 0.
template <typename T>
void softmax_channels_pullback(T* a, T* d_a, const tn::Act& x, const tn::Act& y, int channels, int n,
                               bool log) {
  const long stride = long{n} * (x.width / channels);
  const T* out = a + long{n} * y.off;
  T* dy = d_a + long{n} * y.off;
  T* dx = d_a + long{n} * x.off;
  for (long i = 0; i < stride; ++i) {
    T s = T(0);
    for (int c = 0; c < channels; ++c)
      s += log ? dy[i + c * stride] : dy[i + c * stride] * out[i + c * stride];
    for (int c = 0; c < channels; ++c) {
      const long k = i + c * stride;
      dx[k] += log ? dy[k] - ::std::exp(out[k]) * s : out[k] * (dy[k] - s);
      dy[k] = T(0);
    }
  }
}
}  // namespace detail
namespace detail {
// softmax_axis's adjoint: per group, as softmax_channels_pullback; then dy = 0.
template <typename T>
void softmax_axis_pullback(T* a, T* d_a, const tn::Act& x, const tn::Act& y, int count, int inner, int n,
                           bool log) {
  const long group = long{count} * inner, total = long{n} * x.width;
  const T* out = a + long{n} * y.off;
  T* dy = d_a + long{n} * y.off;
  T* dx = d_a + long{n} * x.off;
  for (long g = 0; g < total; g += group)
    for (int i = 0; i < inner; ++i) {
      const long b = g + i;
      T s = T(0);
      for (int c = 0; c < count; ++c)
        s += log ? dy[b + long{c} * inner] : dy[b + long{c} * inner] * out[b + long{c} * inner];
      for (int c = 0; c < count; ++c) {
        const long k = b + long{c} * inner;
        dx[k] += log ? dy[k] - ::std::exp(out[k]) * s : out[k] * (dy[k] - s);
        dy[k] = T(0);
      }
    }
}
}  // namespace detail
template <typename T>
void softmax_axis_pullback(T* a, tn::Act x, tn::Act y, int count, int inner, int n, T* d_a, tn::Act*,
                           tn::Act*, int*, int*, int*) {
  detail::softmax_axis_pullback(a, d_a, x, y, count, inner, n, false);
}
template <typename T>
void log_softmax_axis_pullback(T* a, tn::Act x, tn::Act y, int count, int inner, int n, T* d_a, tn::Act*,
                               tn::Act*, int*, int*, int*) {
  detail::softmax_axis_pullback(a, d_a, x, y, count, inner, n, true);
}

template <typename T>
void softmax_channels_pullback(T* a, tn::Act x, tn::Act y, int channels, int n, T* d_a, tn::Act*, tn::Act*,
                               int*, int*) {
  detail::softmax_channels_pullback(a, d_a, x, y, channels, n, false);
}
template <typename T>
void log_softmax_channels_pullback(T* a, tn::Act x, tn::Act y, int channels, int n, T* d_a, tn::Act*,
                                   tn::Act*, int*, int*) {
  detail::softmax_channels_pullback(a, d_a, x, y, channels, n, true);
}

// dx += dy * scale; the trainable form's dgamma += Σ dy * x̂, dbeta += Σ dy.
template <typename T>
void batch_norm_pullback(tn::BatchNorm bn, const T* p, T* a, tn::Act x, tn::Act y, int n, tn::BatchNorm*,
                         T* d_p, T* d_a, tn::Act*, tn::Act*, int*) {
  const T* xv = a + long{n} * x.off;
  T* dx = d_a + long{n} * x.off;
  T* dy = d_a + long{n} * y.off;
  for (int c = 0; c < bn.channels; ++c) {
    T scale, shift, invstd;
    tn::detail::batch_norm_channel(bn, p, c, scale, shift, invstd);
    const T mean = tn::detail::batch_norm_mean(bn, p, c);
    T sum_dy = T(0), sum_dy_xhat = T(0);
    auto visit = [&](long i) {
      dx[i] += dy[i] * scale;
      sum_dy += dy[i];
      sum_dy_xhat += dy[i] * (xv[i] - mean) * invstd;
      dy[i] = T(0);
    };
    if (bn.spatial == 0)
      for (int s = 0; s < n; ++s) visit(long{s} * bn.channels + c);
    else
      for (long i = long{c} * n * bn.spatial; i < long{c + 1} * n * bn.spatial; ++i) visit(i);
    if (bn.w >= 0) d_p[bn.w + c] += sum_dy_xhat;
    if (bn.b >= 0) d_p[bn.b + c] += sum_dy;
  }
}

namespace detail {
template <typename T>
void binary_acts_pullback(tn::detail::BinaryOp op, T* a, T* d_a, tn::Act x1, tn::Act x2, tn::Act y, int n) {
  const T* u = a + long{n} * x1.off;
  const T* v = a + long{n} * x2.off;
  T* du = d_a + long{n} * x1.off;
  T* dv = d_a + long{n} * x2.off;
  T* dy = d_a + long{n} * y.off;
  for (long i = 0; i < long{n} * y.width; ++i) {
    T pu, pv;
    tn::detail::op_partials(op, u[i], v[i], pu, pv);
    const T g = dy[i];
    dy[i] = T(0);
    du[i] += pu * g;  // x1 and x2 may be the same activation: both add
    dv[i] += pv * g;
  }
}
// d_q null: a constant operand.
template <typename T, typename Q>
void binary_operand_pullback(tn::detail::BinaryOp op, T* a, T* d_a, tn::Act x, const Q* q, T* d_q, long size,
                             tn::Act y, int channels, int n) {
  const T* u = a + long{n} * x.off;
  T* du = d_a + long{n} * x.off;
  T* dy = d_a + long{n} * y.off;
  tn::detail::for_each_broadcast(x.width, channels, size, n, [&](long i, long j) {
    T pu, pq;
    tn::detail::op_partials(op, u[i], static_cast<T>(q[j]), pu, pq);
    du[i] += pu * dy[i];
    if (d_q) d_q[j] += pq * dy[i];
  });
  for (long i = 0; i < long{n} * y.width; ++i) dy[i] = T(0);
}
}  // namespace detail

template <typename T>
void add_pullback(T* a, tn::Act x1, tn::Act x2, tn::Act y, int n, T* d_a, tn::Act*, tn::Act*, tn::Act*,
                  int*) {
  detail::binary_acts_pullback(tn::detail::BinaryOp::kAdd, a, d_a, x1, x2, y, n);
}
template <typename T>
void sub_pullback(T* a, tn::Act x1, tn::Act x2, tn::Act y, int n, T* d_a, tn::Act*, tn::Act*, tn::Act*,
                  int*) {
  detail::binary_acts_pullback(tn::detail::BinaryOp::kSub, a, d_a, x1, x2, y, n);
}
template <typename T>
void mul_pullback(T* a, tn::Act x1, tn::Act x2, tn::Act y, int n, T* d_a, tn::Act*, tn::Act*, tn::Act*,
                  int*) {
  detail::binary_acts_pullback(tn::detail::BinaryOp::kMul, a, d_a, x1, x2, y, n);
}
#define TORCHCLAD_NN_PARAM_OP_PULLBACK(NAME, OP)                                                            \
  template <typename T>                                                                                     \
  void NAME##_pullback(const T* p, T* a, tn::Act x, tn::Param q, tn::Act y, int channels, int n, T* d_p,    \
                       T* d_a, tn::Act*, tn::Param*, tn::Act*, int*, int*) {                                \
    detail::binary_operand_pullback(tn::detail::BinaryOp::OP, a, d_a, x, p + q.off, d_p + q.off, q.size, y, \
                                    channels, n);                                                           \
  }                                                                                                         \
  template <typename T>                                                                                     \
  void NAME##_pullback(T* a, tn::Act x, tn::Const c, tn::Act y, int channels, int n, T* d_a, tn::Act*,      \
                       tn::Const*, tn::Act*, int*, int*) {                                                  \
    detail::binary_operand_pullback(tn::detail::BinaryOp::OP, a, d_a, x, c.v, static_cast<T*>(nullptr),     \
                                    c.size, y, channels, n);                                                \
  }
TORCHCLAD_NN_PARAM_OP_PULLBACK(add, kAdd)
TORCHCLAD_NN_PARAM_OP_PULLBACK(sub, kSub)
TORCHCLAD_NN_PARAM_OP_PULLBACK(mul, kMul)
TORCHCLAD_NN_PARAM_OP_PULLBACK(div, kDiv)
TORCHCLAD_NN_PARAM_OP_PULLBACK(rsub, kRSub)
#undef TORCHCLAD_NN_PARAM_OP_PULLBACK

template <typename T>
void concat_features_pullback(T* a, tn::Act x1, tn::Act x2, tn::Act y, int n, T* d_a, tn::Act*, tn::Act*,
                              tn::Act*, int*) {
  T* du = d_a + long{n} * x1.off;
  T* dv = d_a + long{n} * x2.off;
  T* dy = d_a + long{n} * y.off;
  for (int b = 0; b < n; ++b) {
    T* row = dy + long{b} * y.width;
    for (int j = 0; j < x1.width; ++j) du[long{b} * x1.width + j] += row[j];
    for (int j = 0; j < x2.width; ++j) dv[long{b} * x2.width + j] += row[x1.width + j];
  }
  detail::clear(dy, long{n} * y.width);
}
template <typename T>
void concat_channels_pullback(T* a, tn::Act x1, tn::Act x2, tn::Act y, int n, T* d_a, tn::Act*, tn::Act*,
                              tn::Act*, int*) {
  T* du = d_a + long{n} * x1.off;
  T* dv = d_a + long{n} * x2.off;
  T* dy = d_a + long{n} * y.off;
  for (long i = 0; i < long{n} * x1.width; ++i) du[i] += dy[i];
  for (long i = 0; i < long{n} * x2.width; ++i) dv[i] += dy[long{n} * x1.width + i];
  detail::clear(dy, long{n} * y.width);
}
template <typename T>
void unflatten_pullback(T* a, tn::Act x, tn::Act y, int channels, int n, T* d_a, tn::Act*, tn::Act*, int*,
                        int*) {
  tk::batch_major_to_channels_backward<T>(d_a + long{n} * x.off, d_a + long{n} * y.off, channels, n,
                                          x.width / channels);
}

}  // namespace clad::custom_derivatives::torchclad::nn

#endif  // TORCHCLAD_NN_ONNX_H
