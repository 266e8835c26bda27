#pragma once
#pragma GCC system_header  // users' cells see their own warnings, not ours
// Convolution with stride, padding (asymmetric allowed, as ONNX's pads) and
// dilation, 2D (1D is h = 1, kh = 1), as im2col + one GEMM per chunk of
// samples on LibTorch's BLAS, and its backward pass. No Clad in here: the
// blocks of torchclad/nn_onnx.h call these from their custom pullbacks.
//
// Layouts: the output is channel-major y[cout, batch, hout, wout] (one GEMM
// covers the chunk's samples, as kernels/conv1d.hpp). The input is either
// channel-major x[cin, batch, h, w] (an activation) or batch-major
// x[batch, cin, h, w] (the model's input batch, PyTorch's order); `Conv2dShape::
// batch_major_input` says which, and im2col reads through strides.
#include <algorithm>

#include "blas.hpp"

namespace torchclad::kernels {

struct Conv2dShape {
  int cin = 1, h = 1, w = 1, cout = 1, kh = 1, kw = 1;
  int sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;  // stride, start padding, dilation
  int hout = 1, wout = 1;
  int groups = 1;  // input and output channels in `groups` independent groups
  bool batch_major_input = false;
  long ckk() const { return long{cin} * kh * kw; }  // im2col rows (all groups)
  long ckk_group() const { return ckk() / groups; }
  int cout_group() const { return cout / groups; }
  long hw_out() const { return long{hout} * wout; }
};

// Output size along one axis (floor), or < 1 when the kernel does not fit.
inline int conv_out_size(int in, int k, int stride, int pad_begin, int pad_end, int dilation) {
  const long span = long{dilation} * (k - 1) + 1;
  const long room = long{in} + pad_begin + pad_end - span;
  return room < 0 ? 0 : static_cast<int>(room / stride + 1);
}

// Columns of im2col held at once (as kConv1dColBudget): about 128 Ki values.
inline constexpr long kConv2dColBudget = 1 << 17;
inline int conv2d_chunk(int batch, const Conv2dShape& s) {
  const long per_sample = s.ckk() * s.hw_out();
  const long nb = per_sample > 0 ? kConv2dColBudget / per_sample : batch;
  return static_cast<int>(std::max<long>(1, std::min<long>(batch, nb)));
}

// Where sample b's channel ci starts in x.
inline long conv2d_plane(const Conv2dShape& s, int batch, int ci, int b) {
  const long plane = long{s.h} * s.w;
  return s.batch_major_input ? (long{b} * s.cin + ci) * plane : (long{ci} * batch + b) * plane;
}

// col[(ci*kh + i)*kw + j, (b - b0)*hw_out + oh*wout + ow] = x(ci, b, oh*sh - ph + i*dh,
// ow*sw - pw + j*dw), 0 in the padding.
template <typename T>
void conv2d_im2col(const T* x, T* col, int batch, const Conv2dShape& s, int b0, int nb) {
  const long ncols = nb * s.hw_out();
  for (int ci = 0; ci < s.cin; ++ci)
    for (int i = 0; i < s.kh; ++i)
      for (int j = 0; j < s.kw; ++j) {
        T* dst = col + ((long{ci} * s.kh + i) * s.kw + j) * ncols;
        for (int b = 0; b < nb; ++b) {
          const T* src = x + conv2d_plane(s, batch, ci, b0 + b);
          T* d = dst + b * s.hw_out();
          for (int oh = 0; oh < s.hout; ++oh) {
            const int ih = oh * s.sh - s.ph + i * s.dh;
            T* drow = d + long{oh} * s.wout;
            if (ih < 0 || ih >= s.h) {
              std::fill(drow, drow + s.wout, T(0));
              continue;
            }
            const T* srow = src + long{ih} * s.w;
            for (int ow = 0; ow < s.wout; ++ow) {
              const int iw = ow * s.sw - s.pw + j * s.dw;
              drow[ow] = iw >= 0 && iw < s.w ? srow[iw] : T(0);
            }
          }
        }
      }
}

// The adjoint of im2col: dx(ci, b, ih, iw) += col[...] over every place it was copied to.
template <typename T>
void conv2d_col2im_add(const T* col, T* d_x, int batch, const Conv2dShape& s, int b0, int nb) {
  const long ncols = nb * s.hw_out();
  for (int ci = 0; ci < s.cin; ++ci)
    for (int i = 0; i < s.kh; ++i)
      for (int j = 0; j < s.kw; ++j) {
        const T* src = col + ((long{ci} * s.kh + i) * s.kw + j) * ncols;
        for (int b = 0; b < nb; ++b) {
          T* dst = d_x + conv2d_plane(s, batch, ci, b0 + b);
          const T* c = src + b * s.hw_out();
          for (int oh = 0; oh < s.hout; ++oh) {
            const int ih = oh * s.sh - s.ph + i * s.dh;
            if (ih < 0 || ih >= s.h) continue;
            T* drow = dst + long{ih} * s.w;
            const T* crow = c + long{oh} * s.wout;
            for (int ow = 0; ow < s.wout; ++ow) {
              const int iw = ow * s.sw - s.pw + j * s.dw;
              if (iw >= 0 && iw < s.w) drow[iw] += crow[ow];
            }
          }
        }
      }
}

// y[cout, batch, hout, wout] = conv(x, w[cout, cin / groups, kh, kw]) + b[cout]
// (b may be null: no bias). Group g's output channels read the im2col rows of
// its input channels: one GEMM per group. `col` is scratch of conv2d_chunk(batch, s) * ckk * hw_out
// values. Overwrites y and col.
template <typename T>
void conv2d_forward(const T* x, const T* w, const T* b, T* y, T* col, int batch, const Conv2dShape& s) {
  const long hw = s.hw_out(), n = batch * hw, kg = s.ckk_group();
  const int og = s.cout_group();
  for (int c = 0; c < s.cout; ++c) std::fill(y + c * n, y + (c + 1) * n, b ? b[c] : T(0));
  const int chunk = conv2d_chunk(batch, s);
  for (int b0 = 0; b0 < batch; b0 += chunk) {
    const int nb = std::min(chunk, batch - b0);
    const long ncols = nb * hw;
    conv2d_im2col(x, col, batch, s, b0, nb);
    for (int g = 0; g < s.groups; ++g)
      blas::gemm(false, false, og, static_cast<int>(ncols), static_cast<int>(kg), T(1), w + g * og * kg,
                 static_cast<int>(kg), col + g * kg * ncols, static_cast<int>(ncols), T(1),
                 y + g * og * n + b0 * hw, static_cast<int>(n));
  }
}

// Given dy: dw += dy · colᵀ, db += Σ dy (d_b may be null), and when d_x is
// not null dx += col2im(wᵀ · dy). Recomputes im2col into `col`. Leaves dy.
template <typename T>
void conv2d_backward(const T* x, const T* w, const T* d_y, T* col, int batch, const Conv2dShape& s, T* d_x,
                     T* d_w, T* d_b) {
  const long hw = s.hw_out(), n = batch * hw, kg = s.ckk_group();
  const int og = s.cout_group();
  if (d_b)
    for (int c = 0; c < s.cout; ++c) {
      T sum = T(0);
      for (long i = 0; i < n; ++i) sum += d_y[c * n + i];
      d_b[c] += sum;
    }
  const int chunk = conv2d_chunk(batch, s);
  for (int b0 = 0; b0 < batch; b0 += chunk) {
    const int nb = std::min(chunk, batch - b0);
    const int ncols = static_cast<int>(nb * hw);
    conv2d_im2col(x, col, batch, s, b0, nb);
    for (int g = 0; g < s.groups; ++g) {
      const T* dyg = d_y + g * og * n + b0 * hw;
      T* colg = col + g * kg * ncols;
      blas::gemm(false, true, og, static_cast<int>(kg), ncols, T(1), dyg, static_cast<int>(n), colg, ncols,
                 T(1), d_w + g * og * kg, static_cast<int>(kg));
      // The group's columns are read: its adjoint columns may replace them.
      if (d_x)
        blas::gemm(true, false, static_cast<int>(kg), ncols, og, T(1), w + g * og * kg, static_cast<int>(kg),
                   dyg, static_cast<int>(n), T(0), colg, ncols);
    }
    if (d_x) conv2d_col2im_add(col, d_x, batch, s, b0, nb);
  }
}

}  // namespace torchclad::kernels
