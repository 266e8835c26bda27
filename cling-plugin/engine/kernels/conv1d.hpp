#pragma once
#pragma GCC system_header  // users' cells see their own warnings, not ours
// Conv1d (stride 1, no padding, no dilation) as im2col + one GEMM on the BLAS
// that LibTorch uses, and its hand-written pullbacks (Clad does not
// differentiate through BLAS; it calls these, as for linear.hpp).
//
// Layout: channel-major over the whole batch. The input is x[cin, batch, lin]
// and the output y[cout, batch, lout] with lout = lin - k + 1, so that the
// convolution of every sample in the batch is one GEMM
//   y[cout, batch*lout] = w[cout, cin*k] · col[cin*k, batch*lout] + b,
// computed in chunks of samples whose im2col columns fit a cache-sized
// scratch buffer `col` (conv1d_col_size elements). A model's first layer,
// whose input is [batch, lin] with one channel, is the same layout with cin = 1.
// Layers with a small cin * k are computed directly instead, the forward pass
// and the weight gradient each up to its own bound (conv1d_direct.hpp: why);
// the input gradient is always wᵀ · dy by GEMM, then col2im.
//
// Two functions, one per activity of x, for the reason given in linear.hpp
// (Clad v2.4 lost a custom-pullback call when one function was
// differentiated with x active at one call site and inactive at another).
#include <algorithm>

#include "blas.hpp"
#include "conv1d_direct.hpp"

namespace torchclad::kernels {

// Columns of im2col held at once: about 128 Ki values (512 KB of floats, the
// size of one core's L2 here); at least one sample.
inline constexpr int kConv1dColBudget = 1 << 17;

// Samples per im2col chunk, and the scratch size (elements) a call needs.
inline int conv1d_chunk(int batch, int cin, int k, int lout) {
  const int per_sample = cin * k * lout;
  const int nb = per_sample > 0 ? kConv1dColBudget / per_sample : batch;
  return std::max(1, std::min(batch, nb));
}
inline long conv1d_col_size(int batch, int cin, int k, int lout) {
  return long{conv1d_chunk(batch, cin, k, lout)} * cin * k * lout;
}

// col[(ci*k + kk), (b - b0)*lout + t] = x[ci, b, t + kk] for b in [b0, b0 + nb).
template <typename T>
void conv1d_im2col(const T* x, T* col, int batch, int cin, int lin, int k, int b0, int nb) {
  const int lout = lin - k + 1, ncols = nb * lout;
  for (int ci = 0; ci < cin; ++ci)
    for (int kk = 0; kk < k; ++kk) {
      T* dst = col + long{ci * k + kk} * ncols;
      for (int b = 0; b < nb; ++b) {
        const T* src = x + (long{ci} * batch + b0 + b) * lin + kk;
        std::copy(src, src + lout, dst + long{b} * lout);
      }
    }
}

// dx[ci, b, t + kk] += col[(ci*k + kk), (b - b0)*lout + t]: the adjoint of im2col.
template <typename T>
void conv1d_col2im_add(const T* col, T* d_x, int batch, int cin, int lin, int k, int b0, int nb) {
  const int lout = lin - k + 1, ncols = nb * lout;
  for (int ci = 0; ci < cin; ++ci)
    for (int kk = 0; kk < k; ++kk) {
      const T* src = col + long{ci * k + kk} * ncols;
      for (int b = 0; b < nb; ++b) {
        T* dst = d_x + (long{ci} * batch + b0 + b) * lin + kk;
        const T* s = src + long{b} * lout;
        for (int t = 0; t < lout; ++t) dst[t] += s[t];
      }
    }
}

// Sum of n values in 16 independent partial sums: a single running sum is a
// chain of dependent adds the compiler may not reorder (no -ffast-math), a
// few cycles per value over the whole batch; lanes vectorise.
template <typename T>
T conv1d_row_sum(const T* v, int n) {
  constexpr int kLanes = 16;
  T acc[kLanes] = {};
  int i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) acc[l] += v[i + l];
  T s = T(0);
  for (; i < n; ++i) s += v[i];
  for (int l = 0; l < kLanes; ++l) s += acc[l];
  return s;
}

// f(b0, nb) for each chunk of samples [b0, b0 + nb) whose im2col columns fit `col`.
template <typename F>
void conv1d_for_each_chunk(int batch, int cin, int k, int lout, F&& f) {
  const int chunk = conv1d_chunk(batch, cin, k, lout);
  for (int b0 = 0; b0 < batch; b0 += chunk) f(b0, std::min(chunk, batch - b0));
}

// y[cout, batch, lout] = conv1d(x[cin, batch, lin], w[cout, cin, k]) + b[cout]
// (torch.nn.functional.conv1d per sample) as im2col + GEMM. `col` is scratch
// of conv1d_col_size(batch, cin, k, lout) elements. Overwrites y and col.
template <typename T>
void conv1d_forward_im2col(const T* x, const T* w, const T* b, T* y, T* col, int batch, int cin, int lin,
                           int cout, int k) {
  const int lout = lin - k + 1, n = batch * lout, ck = cin * k;
  for (int c = 0; c < cout; ++c) std::fill(y + long{c} * n, y + long{c + 1} * n, b[c]);
  conv1d_for_each_chunk(batch, cin, k, lout, [&](int b0, int nb) {
    conv1d_im2col(x, col, batch, cin, lin, k, b0, nb);
    blas::gemm(false, false, cout, nb * lout, ck, T(1), w, ck, col, nb * lout, T(1), y + long{b0} * lout, n);
  });
}

// The layer: direct where it fits (conv1d_direct.hpp), else im2col + GEMM.
template <typename T>
void conv1d_forward(const T* x, const T* w, const T* b, T* y, T* col, int batch, int cin, int lin, int cout,
                    int k) {
  if (conv1d_direct_forward_fits(cin, k))
    conv1d_direct_forward(x, w, b, y, batch, cin, lin, cout, k);
  else
    conv1d_forward_im2col(x, w, b, y, col, batch, cin, lin, cout, k);
}

// The same layer where x is a constant (a model's input batch): no dx.
template <typename T>
void conv1d_forward_const_input(const T* x, const T* w, const T* b, T* y, T* col, int batch, int cin, int lin,
                                int cout, int k) {
  conv1d_forward(x, w, b, y, col, batch, cin, lin, cout, k);
}

// dw += dy · colᵀ, recomputing im2col chunk by chunk into `col` (scratch).
template <typename T>
void conv1d_weight_grad_im2col(const T* x, const T* d_y, T* col, int batch, int cin, int lin, int cout, int k,
                               T* d_w) {
  const int lout = lin - k + 1, n = batch * lout, ck = cin * k;
  conv1d_for_each_chunk(batch, cin, k, lout, [&](int b0, int nb) {
    const int ncols = nb * lout;
    conv1d_im2col(x, col, batch, cin, lin, k, b0, nb);
    blas::gemm(false, true, cout, ck, ncols, T(1), d_y + long{b0} * lout, n, col, ncols, T(1), d_w, ck);
  });
}

// dx += col2im(wᵀ · dy), chunk by chunk through `col` (scratch).
template <typename T>
void conv1d_input_grad(const T* w, const T* d_y, T* col, int batch, int cin, int lin, int cout, int k,
                       T* d_x) {
  const int lout = lin - k + 1, n = batch * lout, ck = cin * k;
  conv1d_for_each_chunk(batch, cin, k, lout, [&](int b0, int nb) {
    const int ncols = nb * lout;
    blas::gemm(true, false, ck, ncols, cout, T(1), w, ck, d_y + long{b0} * lout, n, T(0), col, ncols);
    conv1d_col2im_add(col, d_x, batch, cin, lin, k, b0, nb);
  });
}

// The backward pass of conv1d_forward given dy: db += Σ dy, dw += the
// correlation of dy and x (direct where the layer fits, else through im2col in
// `col`), and, when d_x is not null, dx += col2im(wᵀ · dy). Does not modify dy.
template <typename T>
void conv1d_backward(const T* x, const T* w, const T* d_y, T* col, int batch, int cin, int lin, int cout,
                     int k, T* d_x, T* d_w, T* d_b) {
  const int lout = lin - k + 1, n = batch * lout;
  for (int c = 0; c < cout; ++c) d_b[c] += conv1d_row_sum(d_y + long{c} * n, n);
  if (conv1d_direct_weight_grad_fits(cin, k, batch, lout))
    conv1d_direct_weight_grad(x, d_y, d_w, batch, cin, lin, cout, k);
  else
    conv1d_weight_grad_im2col(x, d_y, col, batch, cin, lin, cout, k, d_w);
  if (d_x) conv1d_input_grad(w, d_y, col, batch, cin, lin, cout, k, d_x);
}

}  // namespace torchclad::kernels

namespace clad::custom_derivatives::torchclad::kernels {

// Pullback of conv1d_forward: the backward pass above, then dy = 0 because
// the call overwrote y (Clad's convention). The scratch's adjoint d_col is
// never written (nothing reads col outside the kernel).
template <typename T>
void conv1d_forward_pullback(const T* x, const T* w, const T* b, T* y, T* col, int batch, int cin, int lin,
                             int cout, int k, T* d_x, T* d_w, T* d_b, T* d_y, T* /*d_col*/, int*, int*, int*,
                             int*, int*) {
  ::torchclad::kernels::conv1d_backward(x, w, d_y, col, batch, cin, lin, cout, k, d_x, d_w, d_b);
  const long n = long{cout} * batch * (lin - k + 1);
  for (long i = 0; i < n; ++i) d_y[i] = T(0);
}

// Pullback of conv1d_forward_const_input: no dx (a third less work).
template <typename T>
void conv1d_forward_const_input_pullback(const T* x, const T* w, const T* b, T* y, T* col, int batch, int cin,
                                         int lin, int cout, int k, T* d_w, T* d_b, T* d_y, T* /*d_col*/, int*,
                                         int*, int*, int*, int*) {
  ::torchclad::kernels::conv1d_backward<T>(x, w, d_y, col, batch, cin, lin, cout, k, nullptr, d_w, d_b);
  const long n = long{cout} * batch * (lin - k + 1);
  for (long i = 0; i < n; ++i) d_y[i] = T(0);
}

}  // namespace clad::custom_derivatives::torchclad::kernels
