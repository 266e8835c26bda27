#pragma once
#pragma GCC system_header  // users' cells see their own warnings, not ours
// MaxPool and AveragePool with kernel, stride and padding (asymmetric allowed,
// ONNX's pads), floor or ceil output size (pool_out_size), 2D (1D is h = 1,
// kh = 1), and their backward passes. Planes are independent: x[planes, h, w] -> y[planes, hout,
// wout]; in the channel-major model layout planes = channels * batch.
// Max pooling pads with -inf (a padded position never wins); each window
// holds at least one real value (the blocks check pad < kernel). The window's
// argmax is found again in the backward pass from the input (no index buffer):
// the first maximum, or the last NaN, as PyTorch's CPU kernel.
// Average pooling divides by the window's size within the padded input when
// count_include_pad (kh * kw, except for a ceil_mode window running past the
// end padding), else by the number of real values in the window (PyTorch's
// CPU kernel and ONNX Runtime's).
#include <algorithm>

namespace torchclad::kernels {

// Output size of a pooling over `in` values, kernel k, stride s, padding
// begin / end. Floor: (in + pads - k) / s + 1. Ceil (ceil_mode): rounded up,
// and, as PyTorch's pooling_output_shape, without a last window that would
// start past the input and its begin padding (every window holds a real value).
// 0 when the kernel does not fit.
inline int pool_out_size(int in, int k, int s, int pad_begin, int pad_end, bool ceil_mode) {
  const long room = long{in} + pad_begin + pad_end - k;
  if (room < 0 || s < 1) return 0;
  long out = (ceil_mode ? (room + s - 1) / s : room / s) + 1;
  if (ceil_mode && (out - 1) * s >= long{in} + pad_begin) --out;
  return static_cast<int>(out);
}

// pb, pr: the bottom and right padding (ph, pw are the top and left).
struct Pool2dShape {
  int h = 1, w = 1, kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, hout = 1, wout = 1;
  int pb = 0, pr = 0;
  bool count_include_pad = false;
};

// The window of output (oh, ow), clipped to the input: rows [h0, h1), columns [w0, w1).
struct PoolWindow {
  int h0, h1, w0, w1;
};
inline PoolWindow pool2d_window(const Pool2dShape& s, int oh, int ow) {
  const int hs = oh * s.sh - s.ph, ws = ow * s.sw - s.pw;
  return {std::max(hs, 0), std::min(hs + s.kh, s.h), std::max(ws, 0), std::min(ws + s.kw, s.w)};
}

// Index (in the plane) of the window's maximum.
template <typename T>
long max_pool2d_argmax(const T* plane, const Pool2dShape& s, const PoolWindow& win) {
  long best = long{win.h0} * s.w + win.w0;
  T m = plane[best];
  for (int i = win.h0; i < win.h1; ++i)
    for (int j = win.w0; j < win.w1; ++j) {
      const long at = long{i} * s.w + j;
      const T v = plane[at];
      if (v > m || v != v) {
        m = v;
        best = at;
      }
    }
  return best;
}

template <typename T>
void max_pool2d_forward(const T* x, T* y, long planes, const Pool2dShape& s) {
  const long in = long{s.h} * s.w, out = long{s.hout} * s.wout;
  for (long p = 0; p < planes; ++p) {
    const T* plane = x + p * in;
    T* o = y + p * out;
    for (int oh = 0; oh < s.hout; ++oh)
      for (int ow = 0; ow < s.wout; ++ow)
        o[long{oh} * s.wout + ow] = plane[max_pool2d_argmax(plane, s, pool2d_window(s, oh, ow))];
  }
}

// dx[argmax] += dy for every window. Leaves dy.
template <typename T>
void max_pool2d_backward(const T* x, const T* d_y, T* d_x, long planes, const Pool2dShape& s) {
  const long in = long{s.h} * s.w, out = long{s.hout} * s.wout;
  for (long p = 0; p < planes; ++p) {
    const T* plane = x + p * in;
    T* dplane = d_x + p * in;
    const T* dout = d_y + p * out;
    for (int oh = 0; oh < s.hout; ++oh)
      for (int ow = 0; ow < s.wout; ++ow)
        dplane[max_pool2d_argmax(plane, s, pool2d_window(s, oh, ow))] += dout[long{oh} * s.wout + ow];
  }
}

// count_include_pad: the window clipped to the padded input, as PyTorch's
// kernel (kh * kw unless a ceil_mode window runs past the end padding).
inline int avg_pool2d_divisor(const Pool2dShape& s, int oh, int ow, const PoolWindow& win) {
  if (!s.count_include_pad) return (win.h1 - win.h0) * (win.w1 - win.w0);
  const int hs = oh * s.sh - s.ph, ws = ow * s.sw - s.pw;
  return (std::min(hs + s.kh, s.h + s.pb) - hs) * (std::min(ws + s.kw, s.w + s.pr) - ws);
}

template <typename T>
void avg_pool2d_forward(const T* x, T* y, long planes, const Pool2dShape& s) {
  const long in = long{s.h} * s.w, out = long{s.hout} * s.wout;
  for (long p = 0; p < planes; ++p) {
    const T* plane = x + p * in;
    T* o = y + p * out;
    for (int oh = 0; oh < s.hout; ++oh)
      for (int ow = 0; ow < s.wout; ++ow) {
        const PoolWindow win = pool2d_window(s, oh, ow);
        T sum = T(0);
        for (int i = win.h0; i < win.h1; ++i)
          for (int j = win.w0; j < win.w1; ++j) sum += plane[long{i} * s.w + j];
        o[long{oh} * s.wout + ow] = sum / T(avg_pool2d_divisor(s, oh, ow, win));
      }
  }
}

// dx[window] += dy / divisor. Leaves dy.
template <typename T>
void avg_pool2d_backward(const T* d_y, T* d_x, long planes, const Pool2dShape& s) {
  const long in = long{s.h} * s.w, out = long{s.hout} * s.wout;
  for (long p = 0; p < planes; ++p) {
    T* dplane = d_x + p * in;
    const T* dout = d_y + p * out;
    for (int oh = 0; oh < s.hout; ++oh)
      for (int ow = 0; ow < s.wout; ++ow) {
        const PoolWindow win = pool2d_window(s, oh, ow);
        const T g = dout[long{oh} * s.wout + ow] / T(avg_pool2d_divisor(s, oh, ow, win));
        for (int i = win.h0; i < win.h1; ++i)
          for (int j = win.w0; j < win.w1; ++j) dplane[long{i} * s.w + j] += g;
      }
  }
}

}  // namespace torchclad::kernels
