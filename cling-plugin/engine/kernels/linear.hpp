#pragma once
#pragma GCC system_header  // users' cells see their own warnings, not ours
// The Linear layer, y = x · wᵀ + b, on the BLAS that LibTorch uses, and its
// hand-written pullbacks: Clad does not differentiate through BLAS, it calls
// these, which are two more GEMMs and a column sum for the bias.
//
// Two functions, one per activity of x, because Clad v2.4 mishandles one
// function that is differentiated with x active at one call site and inactive
// at another: the second pullback silently lost its GEMM call (gradient test
// LinearFirstAndHiddenLayers guards this).
#include "blas.hpp"

namespace torchclad::kernels {

// y[m,n] = x[m,k] · w[n,k]ᵀ + b[n]  (torch.nn.functional.linear; w is [out, in]).
// Overwrites y. The bias is broadcast into y and the GEMM accumulates on it.
template <typename T>
void linear_forward(const T* x, const T* w, const T* b, T* y, int m, int n, int k) {
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) y[i * n + j] = b[j];
  blas::gemm(false, true, m, n, k, T(1), x, k, w, k, T(1), y, n);
}

// The same layer where x is a constant (a model's input batch): no dx.
template <typename T>
void linear_forward_const_input(const T* x, const T* w, const T* b, T* y, int m, int n, int k) {
  linear_forward(x, w, b, y, m, n, k);
}

// Adjoints of the weights and bias: dw += dyᵀ · x, db += column sums of dy.
template <typename T>
void linear_weight_bias_adjoints(const T* x, const T* d_y, T* d_w, T* d_b, int m, int n, int k) {
  blas::gemm(true, false, n, k, m, T(1), d_y, n, x, k, T(1), d_w, k);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) d_b[j] += d_y[i * n + j];
}

}  // namespace torchclad::kernels

namespace clad::custom_derivatives::torchclad::kernels {

// Pullback of linear_forward: dx += dy · w, dw += dyᵀ · x, db += Σ_rows dy;
// then dy = 0 because the call overwrote y (Clad's convention).
template <typename T>
void linear_forward_pullback(const T* x, const T* w, const T* b, T* y, int m, int n, int k, T* d_x, T* d_w,
                             T* d_b, T* d_y, int*, int*, int*) {
  ::torchclad::blas::gemm(false, false, m, k, n, T(1), d_y, n, w, k, T(1), d_x, k);
  ::torchclad::kernels::linear_weight_bias_adjoints(x, d_y, d_w, d_b, m, n, k);
  for (int i = 0; i < m * n; ++i) d_y[i] = T(0);
}

// Pullback of linear_forward_const_input: as above without dx, a third of
// the layer's backward work.
template <typename T>
void linear_forward_const_input_pullback(const T* x, const T* w, const T* b, T* y, int m, int n, int k,
                                         T* d_w, T* d_b, T* d_y, int*, int*, int*) {
  ::torchclad::kernels::linear_weight_bias_adjoints(x, d_y, d_w, d_b, m, n, k);
  for (int i = 0; i < m * n; ++i) d_y[i] = T(0);
}

}  // namespace clad::custom_derivatives::torchclad::kernels
