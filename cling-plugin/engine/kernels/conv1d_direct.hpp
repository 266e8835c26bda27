#pragma once
#pragma GCC system_header  // users' cells see their own warnings, not ours
// Conv1d computed directly, without im2col, where cin * k is small: there the
// im2col matrix is k times the input, and the forward GEMM's inner dimension,
// cin * k, is too short for the BLAS to reach speed; the weight gradient's
// GEMM (a short output, the whole batch as inner dimension) is slow even for
// the GW CNN's third layer. Where each is used: the bounds below, measured
// with torchclad-bench --kernels 1 (cling-plugin/bench/README.md, "Conv1d").
//
// Same layout and results as conv1d.hpp (x[cin, batch, lin], y[cout, batch,
// lout], w[cout, cin, k]); sums run in another order, so float results differ
// in the last bits. Vectors of 32 bytes (GCC/Clang vector extensions, 8
// floats or 4 doubles): the compiler keeps a block of outputs in registers
// and broadcasts each weight, which it does not do for the plain loops.
#include <algorithm>
#include <cstring>

namespace torchclad::kernels {

// Where each pass is computed directly, measured by torchclad-bench --kernels
// on the GW CNN's layers (cin * k = 16, 64, 128): the forward pass gains on
// the first layer only, im2col + GEMM being faster on the others. The weight
// gradient, whose GEMM has the batch's positions as its inner dimension,
// gains on all three, once batch * lout, the length of each
// weight's sum, is long enough for the vector lanes' final reduction (per
// weight) not to dominate: at batch 1 the third layer (lout 118) is faster
// by GEMM.
inline constexpr int kConv1dDirectForwardMaxCk = 32;
inline constexpr int kConv1dDirectWeightGradMaxCk = 128;
inline constexpr long kConv1dDirectWeightGradMinPositions = 256;
inline bool conv1d_direct_forward_fits(int cin, int k) { return cin * k <= kConv1dDirectForwardMaxCk; }
inline bool conv1d_direct_weight_grad_fits(int cin, int k, int batch, int lout) {
  return cin * k <= kConv1dDirectWeightGradMaxCk && long{batch} * lout >= kConv1dDirectWeightGradMinPositions;
}

namespace direct_detail {

template <typename T>
struct Vec {
  typedef T type __attribute__((vector_size(32)));
  static constexpr int kLanes = 32 / sizeof(T);
};

// Always inlined: a 32-byte vector passed by value is passed differently with
// and without AVX, and cling compiles users' cells for the baseline CPU.
template <typename T>
__attribute__((always_inline)) inline typename Vec<T>::type load(const T* p) {
  typename Vec<T>::type v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
template <typename T>
__attribute__((always_inline)) inline void store(T* p, typename Vec<T>::type v) {
  std::memcpy(p, &v, sizeof v);
}

// acc[cb][j] += sum over ci, kk of w[c0 + cb, ci, kk] * x[ci][kk + j*lanes ...],
// x[ci] = xb + ci * ci_stride (each channel's row of this sample, at t0).
template <int CB, int NV, typename T>
inline void forward_block(const T* xb, long ci_stride, int cin, int k, const T* w, int c0,
                          typename Vec<T>::type (&acc)[CB][NV]) {
  constexpr int L = Vec<T>::kLanes;
  const int ck = cin * k;
  for (int ci = 0; ci < cin; ++ci) {
    const T* xr = xb + ci * ci_stride;
    const T* wc = w + long{c0} * ck + ci * k;
    for (int kk = 0; kk < k; ++kk) {
      typename Vec<T>::type xv[NV];
      for (int j = 0; j < NV; ++j) xv[j] = load(xr + kk + j * L);
      for (int cb = 0; cb < CB; ++cb) {
        const T wv = wc[long{cb} * ck + kk];
        for (int j = 0; j < NV; ++j) acc[cb][j] += wv * xv[j];
      }
    }
  }
}

// Output channels [c0, c0 + CB) at the V positions from t0 of sample b.
template <int CB, int NV, typename T>
inline void forward_channels(const T* xb, long ci_stride, const T* w, const T* bias, T* yb, long n, int cin,
                             int k, int c0) {
  constexpr int L = Vec<T>::kLanes;
  typename Vec<T>::type acc[CB][NV];
  for (int cb = 0; cb < CB; ++cb)
    for (int j = 0; j < NV; ++j) acc[cb][j] = typename Vec<T>::type{} + bias[c0 + cb];
  forward_block<CB, NV>(xb, ci_stride, cin, k, w, c0, acc);
  for (int cb = 0; cb < CB; ++cb)
    for (int j = 0; j < NV; ++j) store(yb + long{c0 + cb} * n + j * L, acc[cb][j]);
}

}  // namespace direct_detail

// y[c, b, t] = bias[c] + sum_ci sum_kk w[c, ci, kk] x[ci, b, t + kk], any
// shape (conv1d_direct_forward_fits says where it is the faster path).
// Overwrites y.
template <typename T>
void conv1d_direct_forward(const T* x, const T* w, const T* bias, T* y, int batch, int cin, int lin, int cout,
                           int k) {
  namespace dd = direct_detail;
  constexpr int CB = 4, NV = 2, V = dd::Vec<T>::kLanes * NV;
  const int lout = lin - k + 1, ck = cin * k;
  const long n = long{batch} * lout, ci_stride = long{batch} * lin;
  for (int b = 0; b < batch; ++b) {
    const T* xs = x + long{b} * lin;
    T* ys = y + long{b} * lout;
    // Blocks of V positions whose reads stay in the row, one of V / NV if
    // that many are left, then the last few one at a time (no zero-padded
    // copy to size).
    const int blocks = lout - lout % V, full = blocks + (lout - blocks >= V / NV ? V / NV : 0);
    for (int t0 = 0; t0 < full; t0 += V) {
      int c0 = 0;
      if (t0 < blocks) {
        for (; c0 + CB <= cout; c0 += CB)
          dd::forward_channels<CB, NV>(xs + t0, ci_stride, w, bias, ys + t0, n, cin, k, c0);
        for (; c0 < cout; ++c0)
          dd::forward_channels<1, NV>(xs + t0, ci_stride, w, bias, ys + t0, n, cin, k, c0);
      } else {
        for (; c0 + CB <= cout; c0 += CB)
          dd::forward_channels<CB, 1>(xs + t0, ci_stride, w, bias, ys + t0, n, cin, k, c0);
        for (; c0 < cout; ++c0)
          dd::forward_channels<1, 1>(xs + t0, ci_stride, w, bias, ys + t0, n, cin, k, c0);
      }
    }
    for (int c = 0; c < cout; ++c)
      for (int t = full; t < lout; ++t) {
        T sum = bias[c];
        for (int ci = 0; ci < cin; ++ci)
          for (int kk = 0; kk < k; ++kk) sum += w[long{c} * ck + ci * k + kk] * xs[ci * ci_stride + t + kk];
        ys[long{c} * n + t] = sum;
      }
  }
}

namespace direct_detail {

// dw[c0 + cb, ci, kk0 + kb] += sum_b sum_t dy[c0 + cb, b, t] x[ci, b, t + kk0 + kb].
template <int CB, int KB, typename T>
inline void weight_grad_block(const T* x, const T* d_y, T* d_w, int batch, int cin, int lin, int k, int c0,
                              int ci, int kk0) {
  constexpr int L = Vec<T>::kLanes;
  const int lout = lin - k + 1, full = lout - lout % L;
  const long n = long{batch} * lout;
  typename Vec<T>::type acc[CB][KB] = {};
  for (int b = 0; b < batch; ++b) {
    const T* xr = x + (long{ci} * batch + b) * lin + kk0;
    const T* dyr[CB];
    for (int cb = 0; cb < CB; ++cb) dyr[cb] = d_y + long{c0 + cb} * n + long{b} * lout;
    for (int t = 0; t < full; t += L) {
      typename Vec<T>::type dv[CB], xv[KB];
      for (int cb = 0; cb < CB; ++cb) dv[cb] = load(dyr[cb] + t);
      for (int kb = 0; kb < KB; ++kb) xv[kb] = load(xr + t + kb);
      for (int cb = 0; cb < CB; ++cb)
        for (int kb = 0; kb < KB; ++kb) acc[cb][kb] += dv[cb] * xv[kb];
    }
    if (full < lout) {
      // The last lout - full positions as one more vector, zero past lout in
      // dy and in x alike (so no 0 * inf from the x beyond them).
      T dpad[CB][L] = {}, xpad[KB][L] = {};
      for (int t = full; t < lout; ++t) {
        for (int cb = 0; cb < CB; ++cb) dpad[cb][t - full] = dyr[cb][t];
        for (int kb = 0; kb < KB; ++kb) xpad[kb][t - full] = xr[t + kb];
      }
      for (int cb = 0; cb < CB; ++cb)
        for (int kb = 0; kb < KB; ++kb) acc[cb][kb] += load(dpad[cb]) * load(xpad[kb]);
    }
  }
  const int ck = cin * k;
  for (int cb = 0; cb < CB; ++cb)
    for (int kb = 0; kb < KB; ++kb) {
      T s = T(0);
      for (int l = 0; l < L; ++l) s += acc[cb][kb][l];
      d_w[long{c0 + cb} * ck + ci * k + kk0 + kb] += s;
    }
}

template <int CB, typename T>
inline void weight_grad_channels(const T* x, const T* d_y, T* d_w, int batch, int cin, int lin, int k,
                                 int c0) {
  constexpr int KB = 4;
  for (int ci = 0; ci < cin; ++ci) {
    int kk0 = 0;
    for (; kk0 + KB <= k; kk0 += KB) weight_grad_block<CB, KB>(x, d_y, d_w, batch, cin, lin, k, c0, ci, kk0);
    for (; kk0 < k; ++kk0) weight_grad_block<CB, 1>(x, d_y, d_w, batch, cin, lin, k, c0, ci, kk0);
  }
}

}  // namespace direct_detail

// dw[c, ci, kk] += sum_b sum_t dy[c, b, t] x[ci, b, t + kk]: the weight
// gradient of conv1d_direct_forward (any cin and k; used where
// conv1d_direct_weight_grad_fits).
template <typename T>
void conv1d_direct_weight_grad(const T* x, const T* d_y, T* d_w, int batch, int cin, int lin, int cout,
                               int k) {
  constexpr int CB = 4;
  int c0 = 0;
  for (; c0 + CB <= cout; c0 += CB)
    direct_detail::weight_grad_channels<CB>(x, d_y, d_w, batch, cin, lin, k, c0);
  for (; c0 < cout; ++c0) direct_detail::weight_grad_channels<1>(x, d_y, d_w, batch, cin, lin, k, c0);
}

}  // namespace torchclad::kernels
