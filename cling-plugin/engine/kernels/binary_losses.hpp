#pragma once
#pragma GCC system_header  // users' cells see their own warnings, not ours
// Binary cross-entropy on logits (torch.nn.functional.binary_cross_entropy_with_logits,
// mean reduction), in the numerically stable form
//   l(z, y) = max(z, 0) - z*y + log1p(exp(-|z|)).
#include <cmath>

#include "activations.hpp"

namespace torchclad::kernels {

// One term. Two branches instead of max and |z|: each is smooth, and no
// exp overflows for any finite z.
template <typename T>
T bce_with_logits_scalar(T z, T y) {
  if (z >= T(0)) return z - z * y + std::log1p(std::exp(-z));
  return std::log1p(std::exp(z)) - z * y;
}

// Mean of l(z[i], y[i]) over n logits z and targets y (in [0, 1]).
template <typename T>
T binary_cross_entropy_with_logits(const T* z, const T* y, int n) {
  T total = T(0);
  for (int i = 0; i < n; ++i) total += bce_with_logits_scalar(z[i], y[i]);
  return total / T(n);  // T(n): Clad differentiates float / int as integer division
}

}  // namespace torchclad::kernels

namespace clad::custom_derivatives::torchclad::kernels {

// ∂l/∂z = sigmoid(z) - y and ∂l/∂y = -z, as PyTorch computes them. Written
// by hand: Clad v2.4 has no derivative of std::log1p (with CLAD_NO_NUM_DIFF
// that is a build error), and the sigmoid form is finite for every z,
// ±inf included.
template <typename T>
void bce_with_logits_scalar_pullback(T z, T y, T d_l, T* d_z, T* d_y) {
  *d_z += d_l * (::torchclad::kernels::sigmoid_scalar(z) - y);
  *d_y += d_l * (-z);
}

}  // namespace clad::custom_derivatives::torchclad::kernels
