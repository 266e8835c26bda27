#pragma once
#pragma GCC system_header  // users' cells see their own warnings, not ours
// Loss kernels (mean over the batch, as PyTorch's default reduction).
#include <cmath>

namespace torchclad::kernels {

// Largest of n values. Used only as the stabilising shift of log-sum-exp,
// which the loss does not depend on: its pullback (below) is zero.
template <typename T>
T row_max(const T* v, int n) {
  T m = v[0];
  for (int j = 1; j < n; ++j) m = v[j] > m ? v[j] : m;
  return m;
}

// -log softmax(logits)[label] for one row of n logits.
template <typename T>
T softmax_cross_entropy_row(const T* logits, int label, int n) {
  T shift = row_max(logits, n);
  T sum = T(0);
  for (int j = 0; j < n; ++j) sum += std::exp(logits[j] - shift);
  return std::log(sum) + shift - logits[label];
}

// torch.nn.functional.cross_entropy(logits[m,n], labels[m]) with mean reduction.
template <typename T>
T softmax_cross_entropy(const T* logits, const int* labels, int m, int n) {
  T total = T(0);
  for (int i = 0; i < m; ++i) total += softmax_cross_entropy_row(logits + i * n, labels[i], n);
  return total / T(m);  // T(m): a float/int division is differentiated as integer division by Clad
}

// torch.nn.functional.mse_loss(pred, target) with mean reduction over n values.
template <typename T>
T mse(const T* pred, const T* target, int n) {
  T total = T(0);
  for (int i = 0; i < n; ++i) total += (pred[i] - target[i]) * (pred[i] - target[i]);
  return total / T(n);
}

}  // namespace torchclad::kernels

namespace clad::custom_derivatives::torchclad::kernels {

// The log-sum-exp shift cancels out of the loss, so its adjoint contribution
// is exactly zero; declaring it spares Clad recording the running maximum.
template <typename T>
void row_max_pullback(const T* /*v*/, int /*n*/, T /*d_result*/, T* /*d_v*/, int* /*d_n*/) {}

}  // namespace clad::custom_derivatives::torchclad::kernels
